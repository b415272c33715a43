package org.relabel4j.djl;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrayAdapter;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A DJL manager with no engine behind it (none runs offline here: DJL's PyTorch engine downloads LibTorch at run
 * time), keeping DJL's buffer contract as its engines do: {@code create(Buffer, Shape, DataType)} uses a direct
 * native-order ByteBuffer in place (as the PyTorch engine's {@code create} does) and copies anything else;
 * {@code toByteBuffer(true)} returns the array's own direct memory. Arrays and sub-managers are attached to their
 * manager, so closing it closes them (BaseNDManager's bookkeeping, the real one).
 */
class BufferNDManager extends BaseNDManager {
    int created;

    /** The system manager at the root (as every engine has): never closed. Made after {@link #ENGINE}. */
    private static final class System {
        static final BufferNDManager MANAGER = new BufferNDManager(null) {
            @Override
            public void close() {
                // the root lives as long as the JVM
            }
        };
    }

    /** A new manager under the system one, as {@code NDManager.newBaseManager()} makes. */
    static BufferNDManager newManager() {
        return (BufferNDManager) System.MANAGER.newSubManager();
    }

    BufferNDManager(NDManager parent) {
        super(parent, Device.cpu());
    }

    @Override
    public Engine getEngine() {
        return ENGINE;
    }

    /** The engine of these managers: it has no alternative engine and makes no models. */
    static final Engine ENGINE = new Engine() {
        @Override
        public Engine getAlternativeEngine() {
            return null;
        }

        @Override
        public String getEngineName() {
            return "BufferTest";
        }

        @Override
        public int getRank() {
            return 0;
        }

        @Override
        public String getVersion() {
            return "1";
        }

        @Override
        public boolean hasCapability(String capability) {
            return false;
        }

        @Override
        public ai.djl.Model newModel(String name, Device device) {
            throw new UnsupportedOperationException("no models in the buffer-contract test engine");
        }

        @Override
        public NDManager newBaseManager() {
            return newManager();
        }

        @Override
        public NDManager newBaseManager(Device device) {
            return newManager();
        }
    };

    @Override
    public NDManager newSubManager(Device device) {
        BufferNDManager m = new BufferNDManager(this);
        attachInternal(m.uid, m);
        return m;
    }

    @Override
    public ByteBuffer allocateDirect(int capacity) {
        return ByteBuffer.allocateDirect(capacity).order(ByteOrder.nativeOrder());
    }

    @Override
    public NDArray from(NDArray array) {
        return array;
    }

    @Override
    public NDArray create(Buffer data, Shape shape, DataType dataType) {
        ByteBuffer b;
        if (data instanceof ByteBuffer bb && bb.isDirect() && bb.order() == ByteOrder.nativeOrder()) {
            b = bb.slice().order(ByteOrder.nativeOrder());  // in place, no copy
        } else if (data instanceof ByteBuffer bb) {
            b = allocateDirect(bb.remaining());
            b.put(bb.duplicate()).flip();
        } else {
            throw new UnsupportedOperationException("this test manager takes ByteBuffers only");
        }
        if (b.remaining() != shape.size() * dataType.getNumOfBytes())
            throw new IllegalArgumentException("buffer of " + b.remaining() + " bytes for " + shape + " " + dataType);
        ++created;
        Array a = new Array(this, b, shape, dataType);
        attachInternal(a.getUid(), a);
        return a;
    }

    /** An array over a direct buffer. */
    static final class Array extends NDArrayAdapter {
        final ByteBuffer data;

        Array(NDManager manager, ByteBuffer data, Shape shape, DataType dataType) {
            super(manager, null, shape, dataType, java.util.UUID.randomUUID().toString());
            this.data = data;
        }

        @Override
        public void intern(NDArray replaced) {
            throw new UnsupportedOperationException("interning is not part of the buffer contract under test");
        }

        @Override
        public void detach() {
            manager.detachInternal(getUid());
        }

        @Override
        public ByteBuffer toByteBuffer(boolean tryDirect) {
            if (isClosed) throw new IllegalStateException("closed");
            return data.duplicate().order(ByteOrder.nativeOrder());
        }
    }
}
