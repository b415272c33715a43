package org.relabel4j.torchsave;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The central directory of a zip archive (zip64 included), read with positional reads: entry names, sizes and
 * where their data starts. Only stored (uncompressed) entries can be read, which is all torch.save writes. CRCs are
 * not checked (torch can be told not to write them).
 */
final class ZipDirectory {
    private static final int EOCD = 0x06054b50;
    private static final int ZIP64_LOCATOR = 0x07064b50;
    private static final int ZIP64_EOCD = 0x06064b50;
    private static final int CENTRAL = 0x02014b50;
    private static final int LOCAL = 0x04034b50;
    private static final long U32 = 0xffffffffL;

    record Entry(String name, int flags, int method, long size, long localHeader) {}

    private final ByteSource src;
    private final Loader loader;
    /** Entries in directory order. */
    final Map<String, Entry> entries = new LinkedHashMap<>();

    private ZipDirectory(ByteSource src, Loader loader) {
        this.src = src;
        this.loader = loader;
    }

    private TorchSaveException corrupt(String what) {
        return loader.error("corrupt zip archive: " + what);
    }

    static ZipDirectory read(ByteSource src, Loader loader) throws IOException {
        ZipDirectory d = new ZipDirectory(src, loader);
        d.parse();
        return d;
    }

    private void parse() throws IOException {
        long size = src.size();
        int tailLength = (int) Math.min(size, 22 + 0xffff);
        ByteBuffer tail = src.slice(size - tailLength, tailLength).order(ByteOrder.LITTLE_ENDIAN);
        int at = -1;
        for (int i = tailLength - 22; i >= 0; --i) {
            if (tail.getInt(i) == EOCD) {
                at = i;
                break;
            }
        }
        if (at < 0)
            throw loader.error("truncated or corrupt zip archive: no end-of-central-directory record in the last "
                    + tailLength + " bytes");
        long eocdPos = size - tailLength + at;
        long count = tail.getShort(at + 10) & 0xffff;
        long cdSize = tail.getInt(at + 12) & U32;
        long cdOffset = tail.getInt(at + 16) & U32;
        if (count == 0xffff || cdSize == U32 || cdOffset == U32) {
            if (eocdPos < 20) throw corrupt("zip64 end-of-central-directory locator missing");
            ByteBuffer locator = src.slice(eocdPos - 20, 20);
            if (locator.getInt(0) != ZIP64_LOCATOR) throw corrupt("zip64 end-of-central-directory locator missing");
            long z = locator.getLong(8);
            if (z < 0 || z > eocdPos - 56) throw corrupt("zip64 end-of-central-directory record out of the file");
            ByteBuffer r = src.slice(z, 56);
            if (r.getInt(0) != ZIP64_EOCD) throw corrupt("bad zip64 end-of-central-directory signature");
            count = r.getLong(32);
            cdSize = r.getLong(40);
            cdOffset = r.getLong(48);
        }
        if (cdOffset < 0 || cdSize < 0 || cdOffset > size || cdSize > size - cdOffset)
            throw loader.error("truncated or corrupt zip archive: the central directory (" + cdSize + " bytes at "
                    + cdOffset + ") is not inside the file (" + size + " bytes)");
        if (cdSize > Integer.MAX_VALUE) throw corrupt("central directory of " + cdSize + " bytes");
        ByteBuffer cd = src.slice(cdOffset, (int) cdSize).order(ByteOrder.LITTLE_ENDIAN);
        int p = 0;
        for (long i = 0; i < count; ++i) {
            if (p > cdSize - 46) throw corrupt("central directory entry " + i + " cut short");
            if (cd.getInt(p) != CENTRAL) throw corrupt("bad signature of central directory entry " + i);
            int flags = cd.getShort(p + 8) & 0xffff;
            int method = cd.getShort(p + 10) & 0xffff;
            long csize = cd.getInt(p + 20) & U32;
            long usize = cd.getInt(p + 24) & U32;
            int nameLength = cd.getShort(p + 28) & 0xffff;
            int extraLength = cd.getShort(p + 30) & 0xffff;
            int commentLength = cd.getShort(p + 32) & 0xffff;
            long local = cd.getInt(p + 42) & U32;
            int next = p + 46 + nameLength + extraLength + commentLength;
            if (next > cdSize || next < 0) throw corrupt("central directory entry " + i + " cut short");
            String name = string(cd, p + 46, nameLength);
            if (usize == U32 || csize == U32 || local == U32) {
                int x = p + 46 + nameLength, end = x + extraLength;
                boolean found = false;
                while (x + 4 <= end) {
                    int id = cd.getShort(x) & 0xffff, length = cd.getShort(x + 2) & 0xffff;
                    if (x + 4 + length > end) break;
                    if (id == 1) {
                        int q = x + 4, qEnd = q + length;
                        if (usize == U32 && q + 8 <= qEnd) { usize = cd.getLong(q); q += 8; }
                        if (csize == U32 && q + 8 <= qEnd) { csize = cd.getLong(q); q += 8; }
                        if (local == U32 && q + 8 <= qEnd) { local = cd.getLong(q); }
                        found = true;
                        break;
                    }
                    x += 4 + length;
                }
                if (!found) throw corrupt("entry '" + name + "' lacks its zip64 extra field");
                if (usize < 0 || csize < 0 || local < 0) throw corrupt("entry '" + name + "' has a negative size");
            }
            entries.putIfAbsent(name, new Entry(name, flags, method, usize, local));
            p = next;
        }
    }

    private static String string(ByteBuffer b, int offset, int length) {
        if (b.hasArray()) return new String(b.array(), b.arrayOffset() + offset, length, StandardCharsets.UTF_8);
        byte[] a = new byte[length];
        b.get(offset, a);
        return new String(a, StandardCharsets.UTF_8);
    }

    Entry get(String name) {
        return entries.get(name);
    }

    /** File position of the entry's first byte, after checking the entry is stored and inside the file. */
    long dataOffset(Entry e) throws IOException {
        if ((e.flags() & 1) != 0) throw loader.error("zip entry '" + e.name() + "' is encrypted");
        if (e.method() != 0)
            throw loader.error("zip entry '" + e.name() + "' is compressed (method " + e.method()
                    + "); torch.save stores entries uncompressed and this reader reads only those");
        long size = src.size();
        if (e.localHeader() > size - 30)
            throw loader.error("truncated file: the local header of zip entry '" + e.name() + "' (at byte "
                    + e.localHeader() + ") is past the end of the file (" + size + " bytes)");
        ByteBuffer h = src.slice(e.localHeader(), 30);
        if (h.getInt(0) != LOCAL) throw corrupt("bad local header signature of entry '" + e.name() + "'");
        long data = e.localHeader() + 30 + (h.getShort(26) & 0xffff) + (h.getShort(28) & 0xffff);
        if (e.size() > size - data)
            throw loader.error("truncated file: zip entry '" + e.name() + "' needs bytes up to " + (data + e.size())
                    + ", but the file has " + size);
        return data;
    }
}
