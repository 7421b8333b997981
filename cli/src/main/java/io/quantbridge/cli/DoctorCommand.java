package io.quantbridge.cli;

import io.quantbridge.runtime.Doctor;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code quantbridge doctor}: the stack as seen from inside the JVM. */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = "Print the versions of Python, torch, TensorFlow, ONNX, ONNX Runtime, numpy and jep as seen "
                + "from inside the JVM; exit 1 with the fix when anything is missing or mismatched.")
final class DoctorCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Doctor.Report report = Doctor.run();
        spec.commandLine().getOut().print(report.format());
        spec.commandLine().getOut().flush();
        return report.ok() ? 0 : 1;
    }
}
