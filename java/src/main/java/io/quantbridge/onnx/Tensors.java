package io.quantbridge.onnx;

import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;

/** Reading and writing the data of ONNX {@code TensorProto}s (raw_data little-endian or typed fields). */
public final class Tensors {
    private Tensors() {
    }

    /** The tensor's dimensions. */
    public static long[] dims(TensorProto t) {
        return t.getDimsList().stream().mapToLong(Long::longValue).toArray();
    }

    /** The number of elements its dimensions describe (1 for a scalar). */
    public static long elementCount(long[] dims) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }

    /** True if the tensor's data lives in an external file (not supported here). */
    public static boolean isExternal(TensorProto t) {
        return t.getDataLocation() == TensorProto.DataLocation.EXTERNAL || t.getExternalDataCount() > 0;
    }

    /**
     * The values of a FLOAT tensor, from {@code raw_data} or {@code float_data}.
     *
     * @throws IllegalArgumentException if it is not FLOAT, uses external data, or its length does not match its dims
     */
    public static float[] floats(TensorProto t) {
        requireType(t, TensorProto.DataType.FLOAT);
        long n = elementCount(dims(t));
        float[] out;
        if (!t.getRawData().isEmpty()) {
            ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            out = new float[b.remaining() / Float.BYTES];
            b.asFloatBuffer().get(out);
        } else {
            List<Float> list = t.getFloatDataList();
            out = new float[list.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = list.get(i);
            }
        }
        checkCount(t, out.length, n);
        return out;
    }

    /**
     * The values of an INT8 or UINT8 tensor as ints (uint8 as 0..255), from {@code raw_data} or {@code int32_data}.
     *
     * @throws IllegalArgumentException if it is neither, uses external data, or its length does not match its dims
     */
    public static int[] bytesAsInts(TensorProto t) {
        boolean unsigned = t.getDataType() == TensorProto.DataType.UINT8_VALUE;
        requireType(t, unsigned ? TensorProto.DataType.UINT8 : TensorProto.DataType.INT8);
        long n = elementCount(dims(t));
        int[] out;
        if (!t.getRawData().isEmpty()) {
            byte[] raw = t.getRawData().toByteArray();
            out = new int[raw.length];
            for (int i = 0; i < raw.length; i++) {
                out[i] = unsigned ? Byte.toUnsignedInt(raw[i]) : raw[i];
            }
        } else {
            out = t.getInt32DataList().stream().mapToInt(Integer::intValue).toArray();
        }
        checkCount(t, out.length, n);
        return out;
    }

    /** A FLOAT tensor with little-endian {@code raw_data}. */
    public static TensorProto floatTensor(String name, float[] data, long... dims) {
        checkLength(name, data.length, dims);
        ByteBuffer b = ByteBuffer.allocate(data.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(data);
        return raw(name, TensorProto.DataType.FLOAT, ByteString.copyFrom(b.array()), dims);
    }

    /** An INT8 tensor with {@code raw_data}. */
    public static TensorProto int8Tensor(String name, byte[] data, long... dims) {
        checkLength(name, data.length, dims);
        return raw(name, TensorProto.DataType.INT8, ByteString.copyFrom(data), dims);
    }

    /**
     * A UINT8 tensor with {@code raw_data}.
     *
     * @throws IllegalArgumentException if a value is outside 0..255
     */
    public static TensorProto uint8Tensor(String name, int[] data, long... dims) {
        checkLength(name, data.length, dims);
        byte[] raw = new byte[data.length];
        for (int i = 0; i < data.length; i++) {
            if (data[i] < 0 || data[i] > 255) {
                throw new IllegalArgumentException("uint8 tensor " + name + ": value " + data[i] + " at index " + i
                        + " is outside 0..255");
            }
            raw[i] = (byte) data[i];
        }
        return raw(name, TensorProto.DataType.UINT8, ByteString.copyFrom(raw), dims);
    }

    /** An INT32 tensor (raw little-endian data). */
    public static TensorProto int32Tensor(String name, int[] data, long... dims) {
        checkLength(name, data.length, dims);
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(4 * data.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int v : data) {
            buf.putInt(v);
        }
        return raw(name, TensorProto.DataType.INT32, ByteString.copyFrom(buf.array()), dims);
    }

    private static TensorProto raw(String name, TensorProto.DataType type, ByteString data, long[] dims) {
        TensorProto.Builder b = TensorProto.newBuilder().setName(name).setDataType(type.getNumber()).setRawData(data);
        for (long d : dims) {
            b.addDims(d);
        }
        return b.build();
    }

    private static void checkLength(String name, int length, long[] dims) {
        if (elementCount(dims) != length) {
            throw new IllegalArgumentException("tensor " + name + ": " + length + " values for dims "
                    + Arrays.toString(dims) + "; expected " + elementCount(dims));
        }
    }

    private static void requireType(TensorProto t, TensorProto.DataType type) {
        if (isExternal(t)) {
            throw new IllegalArgumentException("tensor " + t.getName() + " stores its data in an external file; "
                    + "expected the data inside the model (save the model without external data)");
        }
        if (t.getDataType() != type.getNumber()) {
            TensorProto.DataType found = TensorProto.DataType.forNumber(t.getDataType());
            throw new IllegalArgumentException("tensor " + t.getName() + " has data type "
                    + (found == null ? t.getDataType() : found) + "; expected " + type);
        }
    }

    private static void checkCount(TensorProto t, int found, long expected) {
        if (found != expected) {
            throw new IllegalArgumentException("tensor " + t.getName() + " holds " + found + " values but its dims "
                    + t.getDimsList() + " need " + expected);
        }
    }
}
