package io.quantbridge.config;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;

/** Test resources, written once by the shim's Python code (see each test). */
public final class Fixtures {
    private Fixtures() {
    }

    /** The path of resource {@code io/quantbridge/<relative>}. */
    public static Path path(String relative) {
        URL url = Fixtures.class.getResource("/io/quantbridge/" + relative);
        if (url == null) {
            throw new AssertionError("missing test resource io/quantbridge/" + relative);
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }
}
