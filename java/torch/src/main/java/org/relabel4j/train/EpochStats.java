package org.relabel4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** An epoch's running totals (kept in a mid-epoch checkpoint, so that a resumed epoch reports the whole epoch). */
final class EpochStats {
    private static final ObjectMapper JSON = new ObjectMapper();
    long images, correct, steps, dataNanos, computeNanos;
    double loss;

    /** One step's outcome: its loss, how many of its samples the logits classified right, of how many. */
    record Step(double loss, int correct, int images) {}

    ObjectNode toJson() {
        return JSON.createObjectNode().put("images", images).put("correct", correct).put("steps", steps)
                .put("data_nanos", dataNanos).put("compute_nanos", computeNanos).put("loss", loss);
    }

    static EpochStats fromJson(JsonNode n) {
        EpochStats s = new EpochStats();
        s.images = n.get("images").asLong();
        s.correct = n.get("correct").asLong();
        s.steps = n.get("steps").asLong();
        s.dataNanos = n.get("data_nanos").asLong();
        s.computeNanos = n.get("compute_nanos").asLong();
        s.loss = n.get("loss").asDouble();
        return s;
    }

    void add(Step r, long data, long compute) {
        images += r.images();
        correct += r.correct();
        ++steps;
        loss += r.loss();
        dataNanos += data;
        computeNanos += compute;
    }
}
