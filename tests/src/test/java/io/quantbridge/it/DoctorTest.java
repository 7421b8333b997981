package io.quantbridge.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbridge.runtime.Doctor;
import org.junit.jupiter.api.Test;

/** The doctor sees the pinned stack from inside the JVM. */
class DoctorTest {
    @Test
    void everyPinMatches() {
        Doctor.Report report = Doctor.run();
        assertTrue(report.ok(), report.format());
        String text = report.format();
        assertTrue(text.contains("torch") && text.contains("1.11.0"), text);
        assertTrue(text.contains("tensorflow") && text.contains("2.8."), text);
    }
}
