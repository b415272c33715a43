package org.relabel4j.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.relabel4j.testing.Close.assertClose;
import static org.relabel4j.testing.Close.maxAbs;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.LabelPooling.BoxOrder;
import org.relabel4j.ops.LabelPooling.Mode;
import org.relabel4j.testing.Fixtures;

/** Every case of ../shared/fixtures/labelpool through the Java API (host arrays). */
class LabelPoolingFixtureTest {
    static final double RTOL = 1e-5;

    /** One fixture case: its maps, boxes and geometry. */
    record Case(Path dir, NdArray scores, NdArray indices, NdArray boxes, int classes) {
        static Case load(Path dir) {
            NdArray pooled = Fixtures.load(dir, "pooled_1x1.npy");
            return new Case(dir, Fixtures.load(dir, "scores.npy"), Fixtures.load(dir, "indices.npy"),
                    Fixtures.load(dir, "boxes_xyxy.npy"), (int) pooled.shape(1));
        }

        String name() {
            return dir.getFileName().toString();
        }

        long batch() {
            return scores.shape(0);
        }

        NdArray golden(String file) {
            return Fixtures.load(dir, file);
        }

        /** S values with a pooled_SxS.npy golden. */
        List<Integer> denseSizes() {
            List<Integer> sizes = new ArrayList<>();
            for (int s = 2; s <= 16; ++s) {
                if (Files.exists(dir.resolve("pooled_" + s + "x" + s + ".npy"))) sizes.add(s);
            }
            return sizes;
        }

        NdArray allFlipped() {
            boolean[] f = new boolean[(int) batch()];
            java.util.Arrays.fill(f, true);
            return NdArray.of(f);
        }
    }

    static LabelPooling.Builder pooling(Case c) {
        return LabelPooling.builder(c.classes());
    }

    @TestFactory
    Stream<DynamicTest> fixtures() {
        Fixtures.assumePresent();
        List<DynamicTest> tests = new ArrayList<>();
        for (Path dir : Fixtures.cases("labelpool")) {
            Case c = Case.load(dir);
            double atol = RTOL * maxAbs(c.golden("pooled_1x1.npy"));
            tests.add(DynamicTest.dynamicTest(c.name() + ": pooled 1x1", () -> assertClose(c.name(),
                    c.golden("pooled_1x1.npy"), pooling(c).build().apply(c.scores, c.indices, c.boxes, null), RTOL, atol)));
            tests.add(DynamicTest.dynamicTest(c.name() + ": softmax targets", () -> {
                NdArray got = pooling(c).softmax(true).build().apply(c.scores, c.indices, c.boxes, null);
                assertClose(c.name(), c.golden("targets_softmax.npy"), got, RTOL, 1e-7);
                assertRowsSumToOne(got);
            }));
            tests.add(DynamicTest.dynamicTest(c.name() + ": probs targets", () -> {
                NdArray got = pooling(c).mode(Mode.PROBS).build().apply(c.scores, c.indices, c.boxes, null);
                assertClose(c.name(), c.golden("targets_probs.npy"), got, RTOL, 1e-7);
                assertRowsSumToOne(got);
            }));
            for (int s : c.denseSizes()) {
                tests.add(DynamicTest.dynamicTest(c.name() + ": pooled " + s + "x" + s, () -> assertClose(c.name(),
                        c.golden("pooled_" + s + "x" + s + ".npy"),
                        pooling(c).outputSize(s).build().apply(c.scores, c.indices, c.boxes, null), RTOL, atol)));
                tests.add(DynamicTest.dynamicTest(c.name() + ": pooled " + s + "x" + s + " hflip", () -> assertClose(
                        c.name(), c.golden("pooled_" + s + "x" + s + "_hflip.npy"),
                        pooling(c).outputSize(s).build().apply(c.scores, c.indices, c.boxes, c.allFlipped()), RTOL,
                        atol)));
            }
            if (Files.exists(dir.resolve("pooled_official.npy"))) {
                tests.add(DynamicTest.dynamicTest(c.name() + ": official box order", () -> {
                    assertClose(c.name(), c.golden("pooled_official.npy"),
                            pooling(c).boxOrder(BoxOrder.OFFICIAL).build().apply(c.scores, c.indices, c.boxes, null),
                            RTOL, atol);
                    assertClose(c.name(), c.golden("targets_official.npy"), pooling(c).boxOrder(BoxOrder.OFFICIAL)
                            .softmax(true).build().apply(c.scores, c.indices, c.boxes, null), RTOL, 1e-7);
                }));
            }
            tests.add(DynamicTest.dynamicTest(c.name() + ": fp16 scores, uint16 ids", () -> {
                NdArray s16 = c.scores.astype(DType.FLOAT16), i16 = c.indices.astype(DType.UINT16);
                // fp16 rounds each score by at most 2^-11 relative: the pooled value by at most that of max|score|.
                double fp16Atol = Math.scalb(1.0, -11) * maxAbs(c.scores) + 1e-6;
                assertClose(c.name(), c.golden("pooled_1x1.npy"), pooling(c).build().apply(s16, i16, c.boxes, null),
                        0, fp16Atol);
                assertClose(c.name(), c.golden("targets_softmax.npy"),
                        pooling(c).softmax(true).build().apply(s16, i16, c.boxes, null), 2 * fp16Atol, 1e-7);
            }));
            tests.add(DynamicTest.dynamicTest(c.name() + ": gather from records == apply", () -> {
                MapFormat format = new MapFormat(c.classes(), (int) c.scores.shape(1), (int) c.scores.shape(2),
                        (int) c.scores.shape(3), DType.FLOAT16, DType.UINT16);
                NdArray s16 = c.scores.astype(DType.FLOAT16), i16 = c.indices.astype(DType.UINT16);
                long[] order = new long[(int) c.batch()];
                for (int i = 0; i < order.length; ++i) order[i] = (order.length - 1 - i);  // records in reverse
                NdArray records = Records.pack(format, s16, i16, order);
                LabelPooling p = pooling(c).softmax(true).outputSize(2).build();
                NdArray direct = p.apply(s16, i16, c.boxes, c.allFlipped());
                NdArray gathered = p.gather(records, format, NdArray.of(order), c.boxes, c.allFlipped());
                assertArrayEquals(direct.toFloatArray(), gathered.toFloatArray(), 0f);
            }));
            tests.add(DynamicTest.dynamicTest(c.name() + ": threads change nothing", () -> {
                NdArray one = pooling(c).softmax(true).outputSize(3).build().apply(c.scores, c.indices, c.boxes, null);
                NdArray three = pooling(c).softmax(true).outputSize(3).threads(3).build()
                        .apply(c.scores, c.indices, c.boxes, null);
                assertArrayEquals(one.toFloatArray(), three.toFloatArray(), 0f);
            }));
        }
        return tests.stream();
    }

    static void assertRowsSumToOne(NdArray targets) {
        long rows = targets.shape(0), classes = targets.shape(1);
        for (long r = 0; r < rows; ++r) {
            double sum = 0;
            for (long c = 0; c < classes; ++c) sum += targets.getFloat(r * classes + c);
            assertTrue(Math.abs(sum - 1) < 1e-4, "row " + r + " sums to " + sum);
        }
    }
}
