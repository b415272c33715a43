package org.relabel4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.data.Datasets;
import org.relabel4j.data.MultiLabelDataset;
import org.relabel4j.data.image.TestImages;
import org.relabel4j.eval.TestClassifiers;

/**
 * mAP validation of multi-label runs: with two ranks (simulated: rank 1's all-reduce contribution recorded, then
 * added to rank 0's) every image is scored once and the metrics equal the single process's.
 */
class MultiLabelValidationTest {
    @TempDir
    Path tmp;

    /** A fake two-rank job whose all-reduce adds {@code other} (the other rank's contribution) and records its input. */
    static final class TwoRanks implements DataParallel {
        final int rank;
        final double[] other;
        double[] sent;

        TwoRanks(int rank, double[] other) {
            this.rank = rank;
            this.other = other;
        }

        public int rank() {
            return rank;
        }

        public int worldSize() {
            return 2;
        }

        public void broadcastFromRank0(List<Tensor> tensors) {}

        public void allReduceSum(double[] values) {
            sent = values.clone();
            if (other != null) for (int i = 0; i < values.length; ++i) values[i] += other[i];
        }

        public GradientReducer gradientReducer(List<Tensor> parameters) {
            throw new UnsupportedOperationException("not used by this test: validation reduces metrics only");
        }
    }

    @Test
    void twoRanksScoreEveryImageOnceAndAgreeWithOneProcess() throws IOException {
        int[] colors = {0xE0E010, 0x1010E0, 0xE01010, 0x10E0E0, 0xE010E0};
        String[] labels = {"0,1", "2", "0", "1", "0,2"};
        StringBuilder list = new StringBuilder();
        for (int i = 0; i < colors.length; ++i) {
            int rgb = colors[i];
            Files.write(tmp.resolve("i" + i + ".jpg"), TestImages.jpeg(32, 32, (x, y) -> rgb));
            list.append("i").append(i).append(".jpg\t").append(labels[i]).append('\n');
        }
        Files.writeString(tmp.resolve("l.txt"), list.toString());
        MultiLabelDataset val = (MultiLabelDataset) Datasets.open("multilist:" + tmp.resolve("l.txt"));
        // scores: the channel means, so that the ranking has ties and errors (d's blue is not a label)
        TestClassifiers.ByColor model = new TestClassifiers.ByColor(3, rgb -> new float[] {rgb[0] / 64 - 2, rgb[1] / 64 - 2,
                rgb[2] / 64 - 2});
        MultiLabelValidation v = new MultiLabelValidation(32, 1.0, 2, 1, "cpu", m -> {});
        Validation.Result one = v.run(model, val, null);
        TwoRanks rank1 = new TwoRanks(1, null);
        v.run(model, val, rank1);
        Validation.Result rank0 = v.run(model, val, new TwoRanks(0, rank1.sent));
        assertEquals(5, rank0.fields().get("val_images").asInt());
        assertEquals(one.score(), rank0.score(), 1e-4);
        assertEquals(one.fields().get("val_of1").asDouble(), rank0.fields().get("val_of1").asDouble(), 1e-4);
        assertEquals(one.fields().get("val_cf1").asDouble(), rank0.fields().get("val_cf1").asDouble(), 1e-4);
    }
}
