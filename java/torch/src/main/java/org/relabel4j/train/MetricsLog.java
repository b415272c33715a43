package org.relabel4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The run's metrics as JSON lines ({@code metrics.jsonl}: one object per logged step and per epoch, each with a
 * "kind"), appended and flushed as they come; {@link #plot} draws the curves into a PNG at the end.
 */
public final class MetricsLog implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path file;
    private final BufferedWriter out;

    /** Opens {@code file} for appending (a resumed run continues the same log). */
    public MetricsLog(Path file, boolean append) throws IOException {
        this.file = file;
        Files.createDirectories(file.toAbsolutePath().getParent());
        this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
    }

    public ObjectNode record(String kind) {
        return newRecord(kind);
    }

    /** An empty record of {@code kind}, for a caller that writes it to a log it may not hold. */
    public static ObjectNode newRecord(String kind) {
        return JSON.createObjectNode().put("kind", kind);
    }

    public void write(ObjectNode record) throws IOException {
        out.write(JSON.writeValueAsString(record));
        out.newLine();
        out.flush();
    }

    /** Drops the records after {@code step} (a resumed run rewrites what follows its checkpoint). */
    public static void truncateAfter(Path file, long step) throws IOException {
        if (!Files.exists(file)) return;
        List<String> keep = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.isBlank()) continue;
            JsonNode n = JSON.readTree(line);
            if (n.path("step").asLong(0) <= step) keep.add(line);
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.write(tmp, keep, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Training loss and learning rate per step, and top-1 per epoch (train and validation) from {@code metrics.jsonl} into a PNG. */
    public static void plot(Path metrics, Path png) throws IOException {
        List<Double> steps = new ArrayList<>(), losses = new ArrayList<>(), lrs = new ArrayList<>();
        List<Double> epochs = new ArrayList<>(), trainTop1 = new ArrayList<>(), valEpochs = new ArrayList<>(), valTop1 = new ArrayList<>();
        for (String line : Files.readAllLines(metrics, StandardCharsets.UTF_8)) {
            if (line.isBlank()) continue;
            JsonNode n = JSON.readTree(line);
            if (n.path("kind").asText().equals("step")) {
                steps.add(n.get("step").asDouble());
                losses.add(n.get("loss").asDouble());
                lrs.add(n.path("lr").asDouble());
            } else if (n.path("kind").asText().equals("epoch")) {
                epochs.add(n.get("epoch").asDouble() + 1);
                trainTop1.add(n.get("train_top1").asDouble());
                if (n.has("val_top1")) {
                    valEpochs.add(n.get("epoch").asDouble() + 1);
                    valTop1.add(n.get("val_top1").asDouble());
                }
            }
        }
        XYChart loss = new XYChartBuilder().width(640).height(400).title("training loss").xAxisTitle("step").yAxisTitle("loss").build();
        if (!steps.isEmpty()) loss.addSeries("loss", steps, losses).setMarker(SeriesMarkers.NONE);
        XYChart lr = new XYChartBuilder().width(640).height(400).title("learning rate").xAxisTitle("step").yAxisTitle("lr").build();
        if (!steps.isEmpty()) lr.addSeries("lr", steps, lrs).setMarker(SeriesMarkers.NONE);
        XYChart acc = new XYChartBuilder().width(640).height(400).title("top-1").xAxisTitle("epoch").yAxisTitle("%").build();
        if (!epochs.isEmpty()) acc.addSeries("train", epochs, trainTop1);
        if (!valEpochs.isEmpty()) acc.addSeries("validation", valEpochs, valTop1);
        Path dir = png.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, ".curves", ".png");
        try {
            BitmapEncoder.saveBitmap(List.of(loss, lr, acc), 1, 3, tmp.toString().replaceAll("\\.png$", ""), BitmapEncoder.BitmapFormat.PNG);
            Files.move(tmp, png.toAbsolutePath(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    public Path file() {
        return file;
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
