package org.relabel4j.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Shankar et al.'s multi-label accuracy: the pickle layout (as Python writes it), the JSON layouts, errors. */
class ShankarLabelsTest {
    @TempDir
    Path tmp;

    static final List<String> WNIDS = List.of("n01440764", "n01443537", "n01484850", "n01491361");

    /**
     * The layout of human_accuracy.pickle as modestyachts/evaluating_machine_accuracy_on_imagenet's
     * human_accuracy.py reads it, with extra parts the reader must step over (datetimes, tuple keys, a
     * defaultdict, NumPy bools), pickled by CPython 3.11 + NumPy 1.24 ({@code PYTHONHASHSEED=0}) at protocols 2
     * and 4 from:
     * <pre>
     *   import pickle, numpy as np, collections, datetime, base64, sys
     *   V = ['ILSVRC2012_val_%08d.JPEG' % i for i in range(1, 5)]
     *   ha = {
     *     'labeled_images': V + ['0a1b2c3d4e5f'],
     *     'image_labels': {
     *       V[0]: {'correct': {'n01440764', 'n01443537'}, 'unclear': {'n01484850'}, 'wrong': {'n01491361'}},
     *       V[1]: {'correct': {'n01443537'}, 'unclear': set(), 'wrong': set()},
     *       V[2]: {'correct': {'n01484850'}, 'unclear': {'n01440764'}, 'wrong': set()},
     *       V[3]: {'correct': {'n01491361'}, 'unclear': set(), 'wrong': set()},
     *       'ILSVRC2012_val_00000099.JPEG': {'correct': {'n01440764'}},
     *       '0a1b2c3d4e5f': {'correct': {'n01440764'}},
     *     },
     *     'image_map': {
     *       V[0]: {'id': V[0], 'problematic': False},
     *       V[1]: {'id': V[1], 'problematic': np.bool_(False)},
     *       V[2]: {'id': V[2], 'problematic': False},
     *       V[3]: {'id': V[3], 'problematic': np.bool_(True)},
     *       '0a1b2c3d4e5f': {'id': '0a1b2c3d4e5f', 'problematic': False},
     *     },
     *     'annot_data': {'resnet50': {V[0]: {'label': 'n01440764',
     *          'extra_info': {'start_time': datetime.datetime(2019, 5, 1, 12, 0, 0)}}}},
     *     'all_candidates': {'0a1b2c3d4e5f'},
     *     'wnid_map': {V[0]: 'n01440764'},
     *     'split_wnids': {('organism',): ['n01440764'], ('organism', 'dog'): []},
     *     'initial_annots': collections.defaultdict(dict, {V[0]: {'correct': ['n01440764']}}),
     *   }
     *   for proto in (2, 4): print(base64.b64encode(pickle.dumps(ha, protocol=proto)).decode())
     * </pre>
     */
    static final String PROTOCOL_2 = ""
            + "gAJ9cQAoWA4AAABsYWJlbGVkX2ltYWdlc3EBXXECKFgcAAAASUxTVlJDMjAxMl92YWxfMDAwMDAwMDEuSlBFR3EDWBwAAABJTFNWUkMyMDEyX3"
            + "ZhbF8wMDAwMDAwMi5KUEVHcQRYHAAAAElMU1ZSQzIwMTJfdmFsXzAwMDAwMDAzLkpQRUdxBVgcAAAASUxTVlJDMjAxMl92YWxfMDAwMDAwMDQu"
            + "SlBFR3EGWAwAAAAwYTFiMmMzZDRlNWZxB2VYDAAAAGltYWdlX2xhYmVsc3EIfXEJKGgDfXEKKFgHAAAAY29ycmVjdHELY19fYnVpbHRpbl9fCn"
            + "NldApxDF1xDShYCQAAAG4wMTQ0MDc2NHEOWAkAAABuMDE0NDM1MzdxD2WFcRBScRFYBwAAAHVuY2xlYXJxEmgMXXETWAkAAABuMDE0ODQ4NTBx"
            + "FGGFcRVScRZYBQAAAHdyb25ncRdoDF1xGFgJAAAAbjAxNDkxMzYxcRlhhXEaUnEbdWgEfXEcKGgLaAxdcR1oD2GFcR5ScR9oEmgMXXEghXEhUn"
            + "EiaBdoDF1xI4VxJFJxJXVoBX1xJihoC2gMXXEnaBRhhXEoUnEpaBJoDF1xKmgOYYVxK1JxLGgXaAxdcS2FcS5ScS91aAZ9cTAoaAtoDF1xMWgZ"
            + "YYVxMlJxM2gSaAxdcTSFcTVScTZoF2gMXXE3hXE4UnE5dVgcAAAASUxTVlJDMjAxMl92YWxfMDAwMDAwOTkuSlBFR3E6fXE7aAtoDF1xPGgOYY"
            + "VxPVJxPnNoB31xP2gLaAxdcUBoDmGFcUFScUJzdVgJAAAAaW1hZ2VfbWFwcUN9cUQoaAN9cUUoWAIAAABpZHFGaANYCwAAAHByb2JsZW1hdGlj"
            + "cUeJdWgEfXFIKGhGaARoR2NudW1weS5jb3JlLm11bHRpYXJyYXkKc2NhbGFyCnFJY251bXB5CmR0eXBlCnFKWAIAAABiMXFLiYiHcUxScU0oSw"
            + "NYAQAAAHxxTk5OTkr/////Sv////9LAHRxT2JjX2NvZGVjcwplbmNvZGUKcVBYAQAAAABxUVgGAAAAbGF0aW4xcVKGcVNScVSGcVVScVZ1aAV9"
            + "cVcoaEZoBWhHiXVoBn1xWChoRmgGaEdoSWhNaFBYAQAAAAFxWWhShnFaUnFbhnFcUnFddWgHfXFeKGhGaAdoR4l1dVgKAAAAYW5ub3RfZGF0YX"
            + "FffXFgWAgAAAByZXNuZXQ1MHFhfXFiaAN9cWMoWAUAAABsYWJlbHFkaA5YCgAAAGV4dHJhX2luZm9xZX1xZlgKAAAAc3RhcnRfdGltZXFnY2Rh"
            + "dGV0aW1lCmRhdGV0aW1lCnFoaFBYCwAAAAfDowUBDAAAAAAAcWloUoZxalJxa4VxbFJxbXN1c3NYDgAAAGFsbF9jYW5kaWRhdGVzcW5oDF1xb2"
            + "gHYYVxcFJxcVgIAAAAd25pZF9tYXBxcn1xc2gDaA5zWAsAAABzcGxpdF93bmlkc3F0fXF1KFgIAAAAb3JnYW5pc21xdoVxd11xeGgOYWh2WAMA"
            + "AABkb2dxeYZxel1xe3VYDgAAAGluaXRpYWxfYW5ub3RzcXxjY29sbGVjdGlvbnMKZGVmYXVsdGRpY3QKcX1jX19idWlsdGluX18KZGljdApxfo"
            + "Vxf1JxgGgDfXGBaAtdcYJoDmFzc3Uu";
    static final String PROTOCOL_4 = ""
            + "gASVfwMAAAAAAAB9lCiMDmxhYmVsZWRfaW1hZ2VzlF2UKIwcSUxTVlJDMjAxMl92YWxfMDAwMDAwMDEuSlBFR5SMHElMU1ZSQzIwMTJfdmFsXz"
            + "AwMDAwMDAyLkpQRUeUjBxJTFNWUkMyMDEyX3ZhbF8wMDAwMDAwMy5KUEVHlIwcSUxTVlJDMjAxMl92YWxfMDAwMDAwMDQuSlBFR5SMDDBhMWIy"
            + "YzNkNGU1ZpRljAxpbWFnZV9sYWJlbHOUfZQoaAN9lCiMB2NvcnJlY3SUj5QojAluMDE0NDA3NjSUjAluMDE0NDM1MzeUkIwHdW5jbGVhcpSPlC"
            + "iMCW4wMTQ4NDg1MJSQjAV3cm9uZ5SPlCiMCW4wMTQ5MTM2MZSQdWgEfZQoaAuPlChoDpBoD4+UaBKPlHVoBX2UKGgLj5QoaBGQaA+PlChoDZBo"
            + "Eo+UdWgGfZQoaAuPlChoFJBoD4+UaBKPlHWMHElMU1ZSQzIwMTJfdmFsXzAwMDAwMDk5LkpQRUeUfZRoC4+UKGgNkHNoB32UaAuPlChoDZBzdY"
            + "wJaW1hZ2VfbWFwlH2UKGgDfZQojAJpZJRoA4wLcHJvYmxlbWF0aWOUiXVoBH2UKGgpaARoKowVbnVtcHkuY29yZS5tdWx0aWFycmF5lIwGc2Nh"
            + "bGFylJOUjAVudW1weZSMBWR0eXBllJOUjAJiMZSJiIeUUpQoSwOMAXyUTk5OSv////9K/////0sAdJRiQwEAlIaUUpR1aAV9lChoKWgFaCqJdW"
            + "gGfZQoaCloBmgqaC5oNEMBAZSGlFKUdWgHfZQoaCloB2gqiXV1jAphbm5vdF9kYXRhlH2UjAhyZXNuZXQ1MJR9lGgDfZQojAVsYWJlbJRoDYwK"
            + "ZXh0cmFfaW5mb5R9lIwKc3RhcnRfdGltZZSMCGRhdGV0aW1llIwIZGF0ZXRpbWWUk5RDCgfjBQEMAAAAAACUhZRSlHN1c3OMDmFsbF9jYW5kaW"
            + "RhdGVzlI+UKGgHkIwId25pZF9tYXCUfZRoA2gNc4wLc3BsaXRfd25pZHOUfZQojAhvcmdhbmlzbZSFlF2UaA1haFWMA2RvZ5SGlF2UdYwOaW5p"
            + "dGlhbF9hbm5vdHOUjAtjb2xsZWN0aW9uc5SMC2RlZmF1bHRkaWN0lJOUjAhidWlsdGluc5SMBGRpY3SUk5SFlFKUaAN9lGgLXZRoDWFzc3Uu";

    /** Val images 1..5 (5 is not annotated) in ImageFolder order, labels = their original classes. */
    static Predictions.Builder valImages() {
        List<String> keys = new ArrayList<>(), names = new ArrayList<>();
        int[] labels = {0, 1, 2, 3, 0};
        for (int i = 1; i <= 5; ++i) {
            String name = String.format("ILSVRC2012_val_%08d", i);
            keys.add(WNIDS.get(labels[i - 1]) + "/" + name);
            names.add(name + ".JPEG");
        }
        return Predictions.builder(keys, names, labels, 5);
    }

    /**
     * Image 1 predicts n01443537 (a correct label, though not its original one), image 2 n01440764 (wrong), image 3
     * n01440764 (unclear), image 4 is problematic, image 5 is not annotated.
     */
    static Predictions predictions() {
        return valImages().set(0, 1, 0, 2, 3, 4).set(1, 0, 1, 2, 3, 4).set(2, 0, 2, 1, 3, 4).set(3, 0, 1, 2, 3, 4)
                .set(4, 0, 1, 2, 3, 4).build();
    }

    static void assertHumanStudy(ShankarLabels s) {
        assertEquals(ShankarLabels.Layout.HUMAN_STUDY, s.layout());
        assertEquals(5, s.graded().size());  // labeled_images: 4 val + 1 ImageNetV2; image 99 is not graded
        ShankarLabels.Annotation first = s.graded().get(0);
        assertEquals("ILSVRC2012_val_00000001.JPEG", first.image());
        assertEquals(Set.of("n01440764", "n01443537"), first.correct());
        assertEquals(Set.of("n01484850"), first.unclear());
        assertEquals(Set.of("n01491361"), first.wrong());
        assertTrue(s.graded().get(3).problematic());   // a numpy.bool_ True
        assertTrue(!s.graded().get(1).problematic());  // a numpy.bool_ False

        ShankarLabels.Result r = s.evaluate(predictions(), WNIDS);
        assertEquals("val", r.subset());
        assertEquals(4, r.graded());        // the ImageNetV2 image is another subset
        assertEquals(1, r.problematic());
        assertEquals(0, r.notInDataset());
        assertEquals(0, r.notEvaluated());
        assertEquals(3, r.n());
        assertEquals(1, r.correct());
        assertEquals(2, r.correctOrUnclear());
        assertEquals(1.0 / 3, r.accuracy());
        assertEquals(2.0 / 3, r.accuracyWithUnclear());
        assertEquals(0, r.unresolvedLabels());
    }

    @Test
    void readsTheHumanAccuracyPickleAtProtocols2And4() throws IOException {
        for (String b64 : List.of(PROTOCOL_2, PROTOCOL_4)) {
            Path f = tmp.resolve("human_accuracy.pickle");
            Files.write(f, Base64.getDecoder().decode(b64));
            assertHumanStudy(ShankarLabels.load(f));
        }
    }

    @Test
    void theGoogleJsonLayout() throws IOException {
        Path f = tmp.resolve("human_accuracy_v3.0.0.json");
        Files.writeString(f, """
                {"initial_annots": {
                   "ILSVRC2012_val_00000001.JPEG": {"correct": ["n01440764", "n01443537"], "unclear": ["n01484850"]},
                   "ILSVRC2012_val_00000002.JPEG": {"correct": ["n01443537"], "wrong": ["n01440764"]},
                   "ILSVRC2012_val_00000003.JPEG": {"correct": ["n01484850"], "unclear": ["n01440764"]},
                   "ILSVRC2012_val_00000004.JPEG": {"correct": ["n01491361"]},
                   "ILSVRC2012_val_00000042.JPEG": {"correct": ["n01491361"]}},
                 "problematic_images": {"ILSVRC2012_val_00000004.JPEG": 1},
                 "imagenet_m": ["ILSVRC2012_val_00000001.JPEG"]}
                """);
        ShankarLabels s = ShankarLabels.load(f);
        assertEquals(ShankarLabels.Layout.MULTILABEL_JSON, s.layout());
        ShankarLabels.Result r = s.evaluate(predictions(), WNIDS);
        assertEquals(5, r.graded());
        assertEquals(1, r.problematic());
        assertEquals(1, r.notInDataset());  // image 42
        assertEquals(3, r.n());
        assertEquals(1, r.correct());
        assertEquals(2, r.correctOrUnclear());
    }

    @Test
    void theFlatJsonLayoutWithClassIds() throws IOException {
        Path f = tmp.resolve("multilabel.json");
        Files.writeString(f, """
                {"ILSVRC2012_val_00000001": {"correct": [0, 1], "unclear": [2]},
                 "ILSVRC2012_val_00000002.JPEG": {"correct": [1]},
                 "ILSVRC2012_val_00000003.JPEG": {"correct": ["n01484850"], "unclear": [0]},
                 "ILSVRC2012_val_00000004.JPEG": {"correct": [3], "problematic": true}}
                """);
        ShankarLabels s = ShankarLabels.load(f);
        assertEquals(ShankarLabels.Layout.FLAT_JSON, s.layout());
        assertEquals(Set.of("#0", "#1"), s.graded().get(0).correct());
        Predictions p = valImages().set(0, 1, 0, 2, 3, 4).skip(1, "unreadable").set(2, 2, 0, 1, 3, 4)
                .set(3, 0, 1, 2, 3, 4).set(4, 0, 1, 2, 3, 4).build();
        ShankarLabels.Result r = s.evaluate(p, WNIDS);
        assertEquals(4, r.graded());
        assertEquals(1, r.problematic());
        assertEquals(1, r.notEvaluated());
        assertEquals(2, r.n());
        assertEquals(2, r.correct());
    }

    @Test
    void imagenetV2ImagesAreTheirOwnSubset() throws IOException {
        Path f = tmp.resolve("human_accuracy.pickle");
        Files.write(f, Base64.getDecoder().decode(PROTOCOL_4));
        ShankarLabels s = ShankarLabels.load(f);
        // An ImageNetV2 dataset: folder = class number, file named by the candidate's hash.
        Predictions p = Predictions.builder(List.of("0/0a1b2c3d4e5f", "1/ffff"), List.of("0a1b2c3d4e5f.jpeg", "ffff.jpeg"),
                new int[] {0, 1}, 1).set(0, 0).set(1, 0).build();
        ShankarLabels.Result r = s.evaluate(p, WNIDS);
        assertEquals("v2", r.subset());
        assertEquals(1, r.graded());
        assertEquals(1, r.n());
        assertEquals(1, r.correct());
    }

    @Test
    void classNamesThatAreNotWordNetIdsAreAnError() throws IOException {
        Path f = tmp.resolve("human_accuracy.pickle");
        Files.write(f, Base64.getDecoder().decode(PROTOCOL_2));
        ShankarLabels s = ShankarLabels.load(f);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> s.evaluate(predictions(), List.of("0", "1", "2", "3")));
        assertTrue(e.getMessage().contains("WordNet"), e.getMessage());
    }

    @Test
    void aDatasetWithoutAnnotatedImagesIsAnError() {
        ShankarLabels s = ShankarLabels.of(List.of(new ShankarLabels.Annotation("ILSVRC2012_val_00000077.JPEG",
                Set.of("n01440764"), Set.of(), Set.of(), false)), "test");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.evaluate(predictions(), WNIDS));
        assertTrue(e.getMessage().contains("none of the 1 images"), e.getMessage());
    }

    @Test
    void malformedInputsNameWhatIsWrong() throws IOException {
        Path f = tmp.resolve("bad.json");
        Files.writeString(f, "{\"image_labels\": {\"a\": {\"correct\": [\"n01440764\"]}}}");
        IOException e = assertThrows(IOException.class, () -> ShankarLabels.load(f));
        assertTrue(e.getMessage().contains("image_map"), e.getMessage());
        Files.writeString(f, "{\"image_labels\": {\"a\": {\"correct\": [\"n0\"]}}, \"image_map\": {\"a\": {\"id\": \"a\"}}}");
        e = assertThrows(IOException.class, () -> ShankarLabels.load(f));
        assertTrue(e.getMessage().contains("problematic"), e.getMessage());
        Files.writeString(f, "{\"a.JPEG\": {\"correct\": \"n01440764\"}}");
        e = assertThrows(IOException.class, () -> ShankarLabels.load(f));
        assertTrue(e.getMessage().contains("a.JPEG.correct"), e.getMessage());
        Files.writeString(f, "[1, 2]");
        e = assertThrows(IOException.class, () -> ShankarLabels.load(f));
        assertTrue(e.getMessage().contains("neither a pickle"), e.getMessage());
        Files.write(f, new byte[] {(byte) 0x80, 2, '}', 'q'});
        e = assertThrows(IOException.class, () -> ShankarLabels.load(f));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void stems() {
        assertEquals("ILSVRC2012_val_00000001", ShankarLabels.stem("ILSVRC2012_val_00000001.JPEG"));
        assertEquals("ILSVRC2012_val_00000001", ShankarLabels.stem("imagenet_validation_flat/ILSVRC2012_val_00000001"));
        assertEquals("0a1b.2c", ShankarLabels.stem("0a1b.2c"));
        assertEquals("x", ShankarLabels.stem("d/x.jpg"));
    }
}
