package io.quantbridge.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code quantbridge demo}: placeholder replaced by the PyTorch and TensorFlow demo. */
@Command(name = "demo", mixinStandardHelpOptions = true, description = "Run the built-in example end to end.")
final class DemoCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        return 0;
    }
}
