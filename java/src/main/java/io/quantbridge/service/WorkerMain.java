package io.quantbridge.service;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.quantbridge.QuantBridgeException;
import io.quantbridge.params.ParamFile;
import io.quantbridge.runtime.CancelledException;
import io.quantbridge.runtime.PythonException;
import io.quantbridge.runtime.PythonRuntime;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;

/**
 * The entry point of a worker JVM: connects to the service's socket, receives one job, runs it
 * in this JVM's own CPython with {@link InProcessRunner} (the same code as in-process mode),
 * streams progress, sends the result or the error, and exits. A {@code cancel} message
 * interrupts the job (Python stops at its next progress event); the service kills the worker if
 * it does not stop in time. If the service goes away, the worker exits.
 */
public final class WorkerMain {
    private static volatile boolean finishing;

    private WorkerMain() {
    }

    /** {@code WorkerMain SOCKET_PATH}. */
    public static void main(String[] args) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(Path.of(args[0])));
        Wire wire = new Wire(ch);
        int code = 0;
        try {
            code = serve(wire);
        } finally {
            finishing = true;
            System.out.flush();
            System.err.flush();
            wire.close();
            // No interpreter teardown: CPython with torch or TF loaded does not finalize reliably.
            Runtime.getRuntime().halt(code);
        }
    }

    private static int serve(Wire wire) throws IOException {
        JsonNode first = wire.read();
        if (first == null || !"job".equals(first.path("type").asText())) {
            return 2;
        }
        QuantJob job = Wire.JSON.treeToValue(first.get("job"), QuantJob.class);
        Thread main = Thread.currentThread();
        Thread reader = new Thread(() -> listen(wire, main), "quantbridge-worker-control");
        reader.setDaemon(true);
        reader.start();
        PythonRuntime rt = null;
        try {
            rt = PythonRuntime.open();
            // Line-buffered output: every printed line reaches the service even if the worker dies.
            rt.exec("import sys\nfor _s in (sys.stdout, sys.stderr):\n"
                    + "    getattr(_s, 'reconfigure', lambda **kw: None)(line_buffering=True)\n");
            JobResult result = new InProcessRunner(rt).run(job, new JobListener() {
                @Override
                public boolean onProgress(io.quantbridge.runtime.ProgressEvent e) {
                    ObjectNode m = Wire.message("progress").put("phase", e.phase()).put("current", e.current())
                            .put("total", e.total());
                    m.set("metrics", Wire.JSON.valueToTree(e.metrics()));
                    try {
                        wire.send(m);
                    } catch (IOException x) {
                        throw new io.quantbridge.runtime.StopRequest("the service went away");
                    }
                    return true;
                }
            });
            Thread.interrupted();   // a late cancel must not close the channel under the last message
            ObjectNode m = Wire.message("result").put("params", ParamFile.toJson(result.params()))
                    .put("calibratedBatches", result.calibratedBatches());
            m.set("files", Wire.JSON.valueToTree(result.files().stream().map(Path::toString).toList()));
            m.set("trainResult", Wire.JSON.valueToTree(result.trainResult()));
            wire.send(m);
            return 0;
        } catch (CancelledException e) {
            Thread.interrupted();
            wire.send(error("cancelled", e));
            return 0;
        } catch (PythonException e) {
            wire.send(error("python", e).put("pythonType", e.pythonType()).put("pythonMessage", e.pythonMessage())
                    .put("traceback", e.pythonTraceback()));
            return 0;
        } catch (QuantBridgeException e) {
            wire.send(error("quantbridge", e));
            return 0;
        } catch (IllegalArgumentException | IllegalStateException e) {
            wire.send(error(e instanceof IllegalArgumentException ? "argument" : "state", e));
            return 0;
        } finally {
            if (rt != null) {
                try {
                    rt.exec("import sys\nsys.stdout.flush()\nsys.stderr.flush()\n");
                } catch (QuantBridgeException | RuntimeException ignored) {
                    // the job's outcome is already sent
                }
            }
        }
    }

    private static ObjectNode error(String kind, Exception e) {
        ObjectNode m = Wire.message("error").put("kind", kind).put("message", String.valueOf(e.getMessage()));
        if (e.getCause() != null && !(e.getCause() instanceof jep.JepException)) {
            m.put("cause", String.valueOf(e.getCause()));
        }
        return m;
    }

    private static void listen(Wire wire, Thread main) {
        try {
            for (JsonNode m = wire.read(); m != null; m = wire.read()) {
                if ("cancel".equals(m.path("type").asText())) {
                    main.interrupt();
                }
            }
        } catch (IOException e) {
            // the service closed the socket: treat like its end
        }
        if (!finishing) {
            // The service is gone (or closed the channel): nobody waits for this job any more.
            Runtime.getRuntime().halt(4);
        }
    }
}
