package org.relabel4j.train.dist;

import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.Backend;
import org.bytedeco.pytorch.Store;
import org.bytedeco.pytorch.nccl.ProcessGroupNCCL;

/**
 * The NCCL backend, in a class of its own: its natives exist only in the preset's {@code -gpu} build, so the CPU
 * build must never load this class (it does not, unless a CUDA device trains).
 */
final class NcclBackend {
    private NcclBackend() {}

    static Backend create(Store store, int rank, int world, Milliseconds timeout) {
        ProcessGroupNCCL.Options options = new ProcessGroupNCCL.Options();
        options.timeout(timeout);
        return new ProcessGroupNCCL(store, rank, world, options);
    }
}
