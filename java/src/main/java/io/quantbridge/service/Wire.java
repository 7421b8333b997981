package io.quantbridge.service;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/**
 * The framing between the service and a worker: one JSON object per line over a Unix domain
 * socket (the worker's stdout and stderr stay free for the user's output). Messages:
 * service to worker {@code job}, {@code cancel}; worker to service {@code progress},
 * {@code result}, {@code error}.
 */
final class Wire implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();
    private final SocketChannel channel;
    private final BufferedReader in;
    private final OutputStream out;

    Wire(SocketChannel channel) {
        this.channel = channel;
        // Not Channels.newInputStream/newOutputStream: they lock the channel's blocking lock, so a
        // blocked read would stop every write. SocketChannel reads and writes run independently.
        this.in = new BufferedReader(new InputStreamReader(new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return len == 0 ? 0 : channel.read(ByteBuffer.wrap(b, off, len));
            }
        }, StandardCharsets.UTF_8));
        this.out = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                ByteBuffer buf = ByteBuffer.wrap(b, off, len);
                while (buf.hasRemaining()) {
                    channel.write(buf);
                }
            }
        };
    }

    static ObjectNode message(String type) {
        return JSON.createObjectNode().put("type", type);
    }

    /** Sends one message; thread-safe. */
    synchronized void send(ObjectNode message) throws IOException {
        byte[] line = (JSON.writeValueAsString(message) + "\n").getBytes(StandardCharsets.UTF_8);
        out.write(line);
        out.flush();
    }

    /** The next message, or null at the end of the stream. */
    JsonNode read() throws IOException {
        String line = in.readLine();
        return line == null ? null : JSON.readTree(line);
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // closing a socket twice or after the peer died is fine
        }
    }
}
