package org.relabel4j.store;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongConsumer;
import java.util.zip.CRC32C;

/**
 * Joins stores (e.g. the shards of a parallel import or annotation) into one, in the order given: checks that
 * their formats agree, that no key repeats, that every record's checksum verifies, and optionally that the keys
 * are exactly those of a key list (one key per line). Without a key list its memory is the writer's (bounded,
 * independent of the record count: the keys are ordered out of core); the key list's check holds all keys.
 */
public final class StoreMerge {
    private StoreMerge() {}

    /** Merges {@code parts} into {@code out}; returns the record count. */
    public static long merge(List<Path> parts, Path out, Path keyList, LongConsumer progress) throws IOException {
        if (parts.isEmpty()) throw new IllegalArgumentException("no stores to merge");
        List<LabelMapStore> stores = new ArrayList<>();
        try {
            for (Path p : parts) stores.add(LabelMapStore.open(p, LabelMapStore.Residency.MAPPED_READAHEAD));
            LabelMapStore first = stores.get(0);
            for (LabelMapStore s : stores) {
                if (!s.format().equals(first.format()))
                    throw new StoreException(s.path(), "format " + s.format() + " differs from " + first.path().getFileName()
                            + "'s " + first.format() + ": shards of one store must agree in shape and dtypes");
            }
            if (keyList != null) {  // the list's check holds every key in memory; without a list the merge does not
                Set<String> present = new HashSet<>();
                for (LabelMapStore s : stores) {
                    for (long r = 0; r < s.size(); ++r) {
                        String key = s.key(r);
                        if (!present.add(key)) throw new StoreException(s.path(), "duplicate key '" + key + "' (also in "
                                + partHolding(stores, key) + ")");
                    }
                }
                checkKeyList(keyList, present);
            }
            long total = 0;
            for (LabelMapStore s : stores) total += s.size();
            Map<String, Object> meta = new LinkedHashMap<>();
            List<String> sources = new ArrayList<>();
            for (Path p : parts) sources.add(p.toString());
            meta.put("merged_from", sources);
            meta.put("parts_metadata", first.metadataJson());
            long done = 0;
            try (LabelMapStoreWriter w = LabelMapStoreWriter.create(out, first.format(), meta, total)) {
                boolean finished = false;
                try {
                    for (LabelMapStore s : stores) {
                        for (long r = 0; r < s.size(); ++r) {
                            if (r % 1024 == 0) s.checkUnchanged();
                            ByteBuffer rec = s.recordView(r);
                            CRC32C crc = new CRC32C();
                            crc.update(rec.duplicate());
                            if ((int) crc.getValue() != s.recordCrc(r))
                                throw new StoreException(s.path(), "record " + r + " ('" + s.key(r) + "') fails its checksum");
                            w.appendRecord(s.key(r), rec);
                            if (progress != null && ++done % 4096 == 0) progress.accept(done);
                        }
                    }
                    try {
                        w.finish();  // orders the keys out of core: a repeated key across parts stops it here
                    } catch (DuplicateKeyException e) {
                        throw new StoreException(partOf(stores, e.second()).path(), "duplicate key '" + e.key()
                                + "' (also in " + partOf(stores, e.first()).path() + ")");
                    }
                    finished = true;
                } finally {
                    if (!finished) w.abort();
                }
                return w.count();
            }
        } finally {
            for (LabelMapStore s : stores) s.close();
        }
    }

    /** The part that holds record {@code merged} of the merged numbering. */
    private static LabelMapStore partOf(List<LabelMapStore> stores, long merged) {
        for (LabelMapStore s : stores) {
            if (merged < s.size()) return s;
            merged -= s.size();
        }
        throw new IllegalArgumentException("record " + merged);
    }

    private static Path partHolding(List<LabelMapStore> stores, String key) {
        for (LabelMapStore s : stores) if (s.find(key) >= 0) return s.path();
        return null;
    }

    private static void checkKeyList(Path keyList, Set<String> present) throws IOException {
        Set<String> wanted = new HashSet<>();
        try (BufferedReader r = Files.newBufferedReader(keyList, StandardCharsets.UTF_8)) {
            String line;
            while ((line = r.readLine()) != null) {
                if (!line.isBlank()) wanted.add(line.strip());
            }
        }
        List<String> missing = new ArrayList<>(), extra = new ArrayList<>();
        for (String k : wanted) if (!present.contains(k)) missing.add(k);
        for (String k : present) if (!wanted.contains(k)) extra.add(k);
        if (!missing.isEmpty() || !extra.isEmpty()) {
            missing.sort(null);
            extra.sort(null);
            throw new StoreException(keyList, missing.size() + " key(s) of the list have no label map"
                    + (missing.isEmpty() ? "" : " (e.g. " + String.join(", ", missing.subList(0, Math.min(5, missing.size()))) + ")")
                    + " and " + extra.size() + " label map(s) are not in the list"
                    + (extra.isEmpty() ? "" : " (e.g. " + String.join(", ", extra.subList(0, Math.min(5, extra.size()))) + ")"));
        }
    }
}
