package org.relabel4j.annotate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.Datasets;
import org.relabel4j.data.SubsetDataset;
import org.relabel4j.eval.TestClassifiers;
import org.relabel4j.nd.DType;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.store.LabelMapStore;
import org.relabel4j.store.Shard;
import org.relabel4j.store.StoreMerge;
import org.relabel4j.torch.Torch;
import org.relabel4j.model.ModelOptions;
import org.relabel4j.model.Models;
import org.relabel4j.model.ModuleClassifier;
import org.relabel4j.model.TorchScriptClassifier;

/** The annotator on a tiny generated dataset: maps equal a direct dense forward + torch.topk; resume; shards. */
class AnnotatorTest {
    static final int SIZE = 32, CLASSES = 10;

    @TempDir
    static Path data;

    @TempDir
    Path tmp;

    static Dataset dataset;
    static ModuleClassifier teacher;

    @BeforeAll
    static void setUp() throws IOException {
        Torch.init();
        AnnotateTesting.writeImages(data.resolve("images"), 21);
        dataset = Datasets.open("imagefolder:" + data.resolve("images"));
        teacher = Models.create("small_cnn", CLASSES, ModelOptions.defaults().withSeed(7L));
    }

    @AfterAll
    static void tearDown() {
        teacher.close();
    }

    static Annotator.Builder annotator() {
        return Annotator.builder(teacher).size(SIZE).k(3).batchSize(4).workers(2).log(m -> {});
    }

    @Test
    void storedMapsEqualADirectDenseForwardAndTopK() throws IOException {
        Path out = tmp.resolve("maps.rlm");
        List<long[]> progress = new ArrayList<>();
        Annotator.Summary s = annotator().listener((done, total) -> progress.add(new long[] {done, total})).build()
                .run(dataset, out);
        assertEquals(21, s.written());
        assertEquals(0, s.resumed());
        assertTrue(s.skipped().isEmpty());
        assertEquals(new MapFormat(CLASSES, 3, 4, 4, DType.FLOAT16, DType.UINT16), s.format());
        assertTrue(s.forwardSeconds() > 0 && s.seconds() >= s.forwardSeconds(), s.toString());
        assertEquals(21, progress.get(progress.size() - 1)[0]);
        assertEquals(21, progress.get(0)[1]);
        assertFalse(Files.exists(tmp.resolve("maps.rlm.partial")));
        try (LabelMapStore store = LabelMapStore.open(out)) {
            assertEquals(dataset.sample(0).key(), store.key(0), "records in dataset order, keyed as the loader looks up");
            int checked = AnnotateTesting.assertStoreMatches(store, dataset, teacher, SIZE, false);
            assertTrue(checked > 21 * 3 * 16 * 0.9, "ids compared: " + checked);
            JsonNode meta = new ObjectMapper().readTree(store.metadataJson());
            assertEquals("small_cnn", meta.at("/annotation/teacher").asText());
            assertEquals(SIZE, meta.at("/annotation/size").asInt());
            assertEquals(3, meta.at("/annotation/k").asInt());
            assertFalse(meta.at("/annotation/flip_average").asBoolean());
            assertEquals("0/1", meta.at("/annotation/shard").asText());
            assertTrue(meta.path("class_names").isMissingNode(), "3 dataset classes, 10 teacher classes: no names");
        }
    }

    @Test
    void flipAveragingAndFp32Scores() throws IOException {
        Path out = tmp.resolve("flip.rlm");
        annotator().flip(true).scoreType(DType.FLOAT32).k(4).build().run(dataset, out);
        try (LabelMapStore store = LabelMapStore.open(out)) {
            assertEquals(DType.FLOAT32, store.format().scoreType());
            AnnotateTesting.assertStoreMatches(store, dataset, teacher, SIZE, true);
            // and the flip matters: the unflipped map of the same image differs
            AnnotateTesting.Reference plain = AnnotateTesting.reference(teacher, dataset.read(0), SIZE, false, 4);
            var stored = store.map(store.require(dataset.sample(0).key()));
            double diff = 0;
            for (int y = 0; y < 4; ++y)
                for (int x = 0; x < 4; ++x) diff = Math.max(diff, Math.abs(plain.value(0, y, x) - stored.score(0, y, x)));
            assertTrue(diff > 1e-3, "flip averaging changed nothing: " + diff);
        }
    }

    @Test
    void sigmoidStoresTheLogitsProbabilitiesWithTheSameClasses() throws IOException {
        Path logits = tmp.resolve("logits32.rlm"), probs = tmp.resolve("sigmoid.rlm");
        annotator().scoreType(DType.FLOAT32).build().run(dataset, logits);
        annotator().scoreType(DType.FLOAT32).sigmoid(true).build().run(dataset, probs);
        try (LabelMapStore a = LabelMapStore.open(logits); LabelMapStore b = LabelMapStore.open(probs)) {
            assertTrue(b.metadataJson().contains("per-cell sigmoid probabilities"), b.metadataJson());
            for (int i = 0; i < dataset.size(); ++i) {
                var ma = a.map(a.require(dataset.sample(i).key()));
                var mb = b.map(b.require(dataset.sample(i).key()));
                assertArrayEquals(ma.ids(), mb.ids(), "sigmoid is monotone: the same top-k");
                for (int j = 0; j < ma.scores().length; ++j)
                    assertEquals(1 / (1 + Math.exp(-ma.scores()[j])), mb.scores()[j], 1e-6);
            }
        }
    }

    @Test
    void torchScriptBackboneTeacher() throws IOException {
        // forward returns (features [B,16,h,w], fc.weight [5,16], fc.bias [5]): the classifier as a 1x1 conv.
        Path file = AnnotateTesting.resource(tmp, "/org/relabel4j/model/ts_backbone.pt");
        try (TorchScriptClassifier ts = TorchScriptClassifier.load(file)) {
            assertEquals(TorchScriptClassifier.Contract.BACKBONE, ts.contract());
            Path out = tmp.resolve("ts.rlm");
            Annotator.Summary s = Annotator.builder(ts).size(SIZE).k(2).batchSize(8).workers(1).log(m -> {}).build()
                    .run(dataset, out);
            assertEquals(new MapFormat(5, 2, 8, 8, DType.FLOAT16, DType.UINT16), s.format());
            try (LabelMapStore store = LabelMapStore.open(out)) {
                AnnotateTesting.assertStoreMatches(store, dataset, ts, SIZE, false);
                assertTrue(new ObjectMapper().readTree(store.metadataJson()).path("class_names").isMissingNode());
            }
        }
    }

    @Test
    void resumeAfterAnInterruptionKeepsEveryRecordOnce() throws IOException {
        Path whole = tmp.resolve("whole.rlm"), out = tmp.resolve("maps.rlm");
        annotator().build().run(dataset, whole);
        // Interrupted after the second batch (8 records on file) ...
        int[] batches = {0};
        RuntimeException stop = assertThrows(RuntimeException.class, () -> annotator().listener((done, total) -> {
            if (done > 0 && ++batches[0] == 2) throw new IllegalStateException("interrupted");
        }).build().run(dataset, out));
        assertEquals("interrupted", stop.getMessage());
        assertFalse(Files.exists(out));
        assertTrue(Files.exists(tmp.resolve("maps.rlm.partial")));
        // ... a run with other settings does not touch it ...
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> annotator().size(40).build().run(dataset, out));
        assertTrue(e.getMessage().contains("size = 32") && e.getMessage().contains("size = 40"), e.getMessage());
        // ... and the same settings continue it.
        Annotator.Summary s = annotator().batchSize(5).build().run(dataset, out);
        assertEquals(8, s.resumed());
        assertEquals(13, s.written());
        try (LabelMapStore a = LabelMapStore.open(whole); LabelMapStore b = LabelMapStore.open(out)) {
            AnnotateTesting.assertSameMaps(a, b);
        }
        assertFalse(Files.exists(tmp.resolve("maps.rlm.partial")));
        assertFalse(Files.exists(tmp.resolve("maps.rlm.partial.journal")));
    }

    @Test
    void restartDiscardsTheUnfinishedStore() throws IOException {
        Path out = tmp.resolve("maps.rlm");
        assertThrows(IllegalStateException.class, () -> annotator().listener((done, total) -> {
            if (done > 0) throw new IllegalStateException("interrupted");
        }).build().run(dataset, out));
        Annotator.Summary s = annotator().size(40).resume(false).build().run(dataset, out);
        assertEquals(0, s.resumed());
        assertEquals(21, s.written());
        assertEquals(5, s.format().height());
    }

    @Test
    void shardsMergeIntoTheWholeStore() throws IOException {
        Path whole = tmp.resolve("whole.rlm"), merged = tmp.resolve("merged.rlm");
        annotator().build().run(dataset, whole);
        List<Path> parts = new ArrayList<>();
        long total = 0;
        for (int i = 0; i < 3; ++i) {
            Shard shard = new Shard(i, 3);
            Path part = shard.partFile(merged);
            Annotator.Summary s = annotator().shard(shard).build().run(dataset, part);
            assertEquals(7, s.samples());
            total += s.written();
            parts.add(part);
            try (LabelMapStore p = LabelMapStore.open(part)) {
                assertEquals(i + "/3", new ObjectMapper().readTree(p.metadataJson()).at("/annotation/shard").asText());
            }
        }
        assertEquals(21, total);
        StoreMerge.merge(parts, merged, null, null);
        try (LabelMapStore a = LabelMapStore.open(whole); LabelMapStore b = LabelMapStore.open(merged)) {
            AnnotateTesting.assertSameMaps(a, b);
        }
    }

    @Test
    void anEmptyShardGivesAnEmptyStoreThatMerges() throws IOException {
        Dataset two = new SubsetDataset(dataset, new int[] {0, 1}, "two samples");
        Path merged = tmp.resolve("two.rlm");
        List<Path> parts = new ArrayList<>();
        for (int i = 0; i < 3; ++i) {
            Shard shard = new Shard(i, 3);
            Annotator.Summary s = annotator().shard(shard).build().run(two, shard.partFile(merged));
            assertEquals(i == 0 ? 0 : 1, s.written(), "shard " + shard);
            parts.add(shard.partFile(merged));
        }
        try (LabelMapStore empty = LabelMapStore.open(parts.get(0))) {
            assertEquals(0, empty.size());
        }
        StoreMerge.merge(parts, merged, null, null);
        try (LabelMapStore m = LabelMapStore.open(merged)) {
            assertEquals(List.of(dataset.sample(0).key(), dataset.sample(1).key()), AnnotateTesting.keys(m));
        }
    }

    @Test
    void unreadableImagesAreSkippedAndListed() throws IOException {
        Path root = tmp.resolve("broken");
        AnnotateTesting.writeImages(root, 6);
        Files.write(root.resolve("dog/zzz_truncated.jpg"), new byte[] {(byte) 0xff, (byte) 0xd8, (byte) 0xff, 0, 1});
        Dataset broken = Datasets.open("imagefolder:" + root);
        List<String> log = new ArrayList<>();
        Annotator.Summary s = annotator().log(log::add).build().run(broken, tmp.resolve("b.rlm"));
        assertEquals(6, s.written());
        assertEquals(1, s.skipped().size());
        assertEquals("dog/zzz_truncated", s.skipped().get(0).key());
        assertTrue(s.skipped().get(0).origin().endsWith("zzz_truncated.jpg"), s.skipped().get(0).origin());
        assertTrue(log.stream().anyMatch(l -> l.contains("zzz_truncated.jpg")), log.toString());

        Path strict = tmp.resolve("strict.rlm");
        Exception e = assertThrows(Exception.class, () -> annotator().strict(true).build().run(broken, strict));
        assertTrue(String.valueOf(e.getMessage()).contains("zzz_truncated.jpg"), e.toString());
        assertFalse(Files.exists(strict));
    }

    @Test
    void badSettingsAreNamedErrors() {
        Path out = tmp.resolve("x.rlm");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> annotator().k(11).build().run(dataset, out));
        assertTrue(e.getMessage().contains("k = 11") && e.getMessage().contains("10 classes"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Annotator.builder(TestClassifiers.grayLevel(3)).size(SIZE)
                .build().run(dataset, out));
        assertTrue(e.getMessage().contains("cannot give dense logits"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> annotator().device("gpu"));
        assertTrue(e.getMessage().contains("'gpu'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> annotator().scoreType(DType.UINT8));
        assertTrue(e.getMessage().contains("store convert"), e.getMessage());
        assertFalse(Files.exists(out));
        assertFalse(Files.exists(tmp.resolve("x.rlm.partial")));
    }
}
