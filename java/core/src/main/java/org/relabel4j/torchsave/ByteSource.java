package org.relabel4j.torchsave;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The bytes of a file, read at positions: small files are read whole into memory (one open, one read), larger ones
 * stay behind a {@link FileChannel} and are read where needed (any size, past 2 GiB too).
 */
abstract class ByteSource implements Closeable {
    /** Files up to this size are read whole. */
    static final long WHOLE_FILE_LIMIT = 8L << 20;

    /** A read past the end of the file (or of the region being parsed). */
    static final class EndOfData extends IOException {
        private static final long serialVersionUID = 1L;

        EndOfData(String message) {
            super(message);
        }
    }

    static ByteSource open(Path file) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        try {
            long size = ch.size();
            if (size > WHOLE_FILE_LIMIT) return new Channel(ch, size);
            byte[] bytes = new byte[(int) size];
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) {
                if (ch.read(b, b.position()) < 0) break;  // the file shrank: the parser will report truncation
            }
            ch.close();
            return new Heap(b.position() == bytes.length ? bytes : java.util.Arrays.copyOf(bytes, b.position()));
        } catch (IOException | RuntimeException | Error e) {
            ch.close();
            throw e;
        }
    }

    /** Bytes already in memory. */
    static ByteSource of(byte[] bytes) {
        return new Heap(bytes);
    }

    abstract long size();

    /** The whole file when it is in memory, else null. */
    abstract byte[] array();

    /** Fills {@code dst} (all its remaining bytes) from file position {@code pos}. */
    abstract void read(long pos, ByteBuffer dst) throws IOException;

    /** {@code length} bytes from {@code pos}, as a little-endian buffer (read-only use; may share the file's array). */
    abstract ByteBuffer slice(long pos, int length) throws IOException;

    void check(long pos, long length) throws EndOfData {
        if (pos < 0 || length < 0 || length > size() - pos)
            throw new EndOfData("needs bytes " + pos + ".." + (pos + length) + ", but the file has " + size());
    }

    @Override
    public void close() throws IOException {}

    private static final class Heap extends ByteSource {
        private final byte[] bytes;

        Heap(byte[] bytes) {
            this.bytes = bytes;
        }

        @Override
        long size() {
            return bytes.length;
        }

        @Override
        byte[] array() {
            return bytes;
        }

        @Override
        void read(long pos, ByteBuffer dst) throws IOException {
            check(pos, dst.remaining());
            dst.put(bytes, (int) pos, dst.remaining());
        }

        @Override
        ByteBuffer slice(long pos, int length) throws IOException {
            check(pos, length);
            return ByteBuffer.wrap(bytes, (int) pos, length).slice().order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    private static final class Channel extends ByteSource {
        private final FileChannel ch;
        private final long size;

        Channel(FileChannel ch, long size) {
            this.ch = ch;
            this.size = size;
        }

        @Override
        long size() {
            return size;
        }

        @Override
        byte[] array() {
            return null;
        }

        @Override
        void read(long pos, ByteBuffer dst) throws IOException {
            check(pos, dst.remaining());
            long p = pos;
            while (dst.hasRemaining()) {
                int n = ch.read(dst, p);
                if (n < 0) throw new EndOfData("the file ended at byte " + p + " (was it changed while being read?)");
                p += n;
            }
        }

        @Override
        ByteBuffer slice(long pos, int length) throws IOException {
            check(pos, length);
            ByteBuffer b = ByteBuffer.allocate(length);
            read(pos, b);
            return b.flip().order(ByteOrder.LITTLE_ENDIAN);
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }
}
