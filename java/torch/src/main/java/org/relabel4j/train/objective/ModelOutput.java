package org.relabel4j.train.objective;

/** What an {@link Objective} reads from the student's forward pass. */
public enum ModelOutput {
    /** The logits {@code [B,C]} after global pooling: every classification objective. */
    LOGITS,
    /**
     * The dense logits before global pooling, {@code [B,C,h,w]}: the classifier applied at every position of the
     * last feature map (a 1x1 convolution), as the annotator computes them. For objectives that supervise every
     * location (token labeling; dense LabelPooling targets). The logits come from the same pass ({@code
     * Classifier.forwardWithDense}: the built-in models pool the features as their forward pass does; a TorchScript
     * student may return its own logits, e.g. a ViT's class token), so a step runs the backbone once.
     */
    DENSE
}
