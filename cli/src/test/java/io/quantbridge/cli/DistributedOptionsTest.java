package io.quantbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The ranks run the command without the distributed options, whatever their spelling. */
class DistributedOptionsTest {
    @Test
    void rankArgumentsDropTheDistributedOptionsAndTheirValues() {
        assertEquals(List.of("calibrate", "-c", "c.json", "--verbose", "-d", "m:f"),
                DistributedOptions.rankArgs(List.of("calibrate", "--nproc-per-node", "2", "-c", "c.json",
                        "--nnodes=2", "--node-rank", "1", "--verbose", "--master-addr", "10.0.0.1", "--master-port=29501",
                        "--dist-timeout", "60", "-d", "m:f")));
    }
}
