package org.relabel4j.model;

import org.bytedeco.pytorch.Tensor;

/**
 * One forward pass's two outputs ({@link Classifier#forwardWithDense}): the logits {@code [B,C]} the classifier
 * predicts (after global pooling, or a ViT's class token) and the dense logits {@code [B,C,h,w]} before pooling
 * (the classifier at every position, or a ViT's patch tokens).
 */
public record LogitsAndDense(Tensor logits, Tensor dense) {}
