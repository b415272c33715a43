package org.relabel4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.store.LabelMap;
import org.relabel4j.store.LabelMapStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code relabel inspect}: what a label-map store holds. */
@Command(name = "inspect", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Shapes, dtypes, record count, size and metadata of a label-map store.",
                "--verify checks every record's checksum (exit 2 when one fails); --key prints one map."})
final class InspectCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "STORE.rlm")
    Path store;

    @Option(names = "--verify", description = "check every record's CRC32C")
    boolean verify;

    @Option(names = "--key", paramLabel = "KEY", description = "print the map of this key (e.g. n01440764/n01440764_10026)")
    String key;

    @Option(names = "--top", defaultValue = "3", description = "--key: classes shown per cell (default: ${DEFAULT-VALUE})")
    int top;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Option(names = "--residency", paramLabel = "HOW", defaultValue = "mapped", description = "how to hold the records: "
            + "mapped (madvise RANDOM, the default), mapped-readahead, ram (a copy in anonymous memory, huge pages "
            + "where the kernel allows), or auto (ram when the records take <= 1/8 of the available memory, else "
            + "mapped); the line `access:` says what is in effect")
    String residency;

    @Override
    public Integer call() throws Exception {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        PrintWriter out = spec.commandLine().getOut();
        FileArgs.of().in("STORE.rlm", store).check();
        LabelMapStore.Residency how = LabelMapStore.Residency.parse(residency);
        try (LabelMapStore s = LabelMapStore.open(store, how)) {
            MapFormat f = s.format();
            ObjectNode r = mapper.createObjectNode();
            r.put("store", s.path().toString());
            r.put("records", s.size());
            r.put("record_bytes", s.recordSize());
            r.put("file_bytes", s.fileSize());
            r.put("residency", s.residency().key());
            r.put("access", s.residencyDescription());
            ObjectNode fmt = r.putObject("format");
            fmt.put("classes", f.classes()).put("k", f.k()).put("height", f.height()).put("width", f.width())
                    .put("score_dtype", f.scoreType().label()).put("index_dtype", f.indexType().label());
            r.set("metadata", mapper.readTree(s.metadataJson()));
            int code = 0;
            if (verify) {
                LabelMapStore.Verification v;
                try (Progress progress = Progress.start("verify", s.size(), "records", spec.commandLine().getErr())) {
                    v = s.verify(progress::stepTo);
                }
                ObjectNode vn = r.putObject("verify");
                vn.put("checked", v.checked()).put("bad", v.bad());
                ArrayNode bad = vn.putArray("bad_records");
                for (long b : v.firstBad()) bad.add(b);
                if (!v.ok()) code = RelabelCli.EXIT_BAD_INPUT;
            }
            if (key != null) r.set("map", mapJson(mapper, s.map(s.require(key))));
            if (json) {
                out.println(mapper.writeValueAsString(r));
            } else {
                printText(out, s, r);
            }
            return code;
        }
    }

    private ObjectNode mapJson(ObjectMapper mapper, LabelMap m) {
        ObjectNode n = mapper.createObjectNode();
        n.put("key", m.key());
        ArrayNode whole = n.putArray("whole_image_top");
        for (LabelMap.ClassScore c : m.wholeImageTop(5)) whole.addObject().put("class", c.classId()).put("logit", c.value());
        ArrayNode cells = n.putArray("cells");
        MapFormat f = m.format();
        for (int y = 0; y < f.height(); ++y) {
            for (int x = 0; x < f.width(); ++x) {
                ObjectNode cell = cells.addObject().put("y", y).put("x", x);
                ArrayNode entries = cell.putArray("top");
                for (int j = 0; j < Math.min(top, f.k()); ++j)
                    entries.addObject().put("class", m.id(j, y, x)).put("score", m.score(j, y, x));
            }
        }
        return n;
    }

    private void printText(PrintWriter out, LabelMapStore s, ObjectNode r) {
        MapFormat f = s.format();
        out.printf(Locale.ROOT, "store:     %s (%s)%n", s.path(), s.fileSize() >= 1e9
                ? String.format(Locale.ROOT, "%.2f GB", s.fileSize() / 1e9)
                : String.format(Locale.ROOT, "%.1f MB", s.fileSize() / 1e6));
        out.printf(Locale.ROOT, "records:   %d of %d bytes%n", s.size(), s.recordSize());
        out.printf(Locale.ROOT, "format:    C=%d k=%d %dx%d, scores %s, class ids %s%n", f.classes(), f.k(), f.height(),
                f.width(), f.scoreType().label(), f.indexType().label());
        out.printf("access:    %s%n", s.residencyDescription());
        out.printf("metadata:  %s%n", r.get("metadata").toString());
        if (r.has("verify")) {
            long bad = r.get("verify").get("bad").asLong();
            out.printf("verify:    %s%n", bad == 0 ? "OK, " + s.size() + " records" : bad + " record(s) fail their checksum: "
                    + r.get("verify").get("bad_records"));
        }
        if (r.has("map")) {
            var m = r.get("map");
            out.printf("key:       %s (record %d)%n", key, s.find(key));
            StringBuilder whole = new StringBuilder();
            for (var c : m.get("whole_image_top"))
                whole.append(String.format(Locale.ROOT, " %d (%.3f)", c.get("class").asInt(), c.get("logit").asDouble()));
            out.println("whole image, pooled logits:" + whole);
            for (var cell : m.get("cells")) {
                StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "  (%2d,%2d):", cell.get("y").asInt(),
                        cell.get("x").asInt()));
                for (var e : cell.get("top"))
                    sb.append(String.format(Locale.ROOT, " %d %.3f", e.get("class").asInt(), e.get("score").asDouble()));
                out.println(sb);
            }
        }
    }
}
