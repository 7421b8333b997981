package io.quantbridge.project;

import io.quantbridge.QuantBridgeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProjectFilesTest {
    @Test
    void theMkdirHintIsOneShellWordWhateverThePath(@TempDir Path dir) {
        Path missing = dir.resolve("my-app.v2 out").resolve("it's");
        QuantBridgeException e = assertThrows(QuantBridgeException.class,
                () -> ProjectFiles.requireDirectory(missing, "--out"));
        assertTrue(e.getMessage().endsWith("(mkdir -p '" + dir + "/my-app.v2 out/it'\\''s')"), e.getMessage());
        assertEquals("/srv/my-app/out", ProjectFiles.shellWord("/srv/my-app/out"));
        assertEquals("''", ProjectFiles.shellWord(""));
    }
}
