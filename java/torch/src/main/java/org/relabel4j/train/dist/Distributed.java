package org.relabel4j.train.dist;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.javacpp.SizeTPointer;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.Backend;
import org.bytedeco.pytorch.BackendOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.PrefixStore;
import org.bytedeco.pytorch.ProcessGroup;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.TCPStoreOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.DeviceType;
import org.relabel4j.torch.Torch;
import org.relabel4j.train.DataParallel;
import org.relabel4j.train.GradientReducer;

/**
 * A data-parallel job on PyTorch's c10d, as the JavaCPP preset maps it: rendezvous through a {@code TCPStore} served
 * by rank 0 at {@code MASTER_ADDR:MASTER_PORT}, a {@code ProcessGroupGloo} for CPU tensors (always: metrics and
 * CPU training) and a {@code ProcessGroupNCCL} for CUDA tensors when training on a GPU, both behind one
 * {@code ProcessGroup} that dispatches by the tensors' device (PyTorch's {@code "cpu:gloo,cuda:nccl"}).
 *
 * <p>Gradients are averaged by c10d's own {@code Reducer} (DDP's engine: buckets of about {@code bucketMb},
 * all-reduced during the backward pass as their gradients become ready, rebuilt after the first step in the order
 * the gradients came), or with {@code overlap} off by {@link BucketedReducer} after the backward pass.
 *
 * <p>Failure: every collective carries the timeout; a rank that dies closes its connections and the others' next
 * collective fails at once ("Connection closed by peer"), a rank that hangs makes them fail after the timeout. Both
 * surface as a {@link DistributedException} naming this rank and the step.
 */
public final class Distributed implements DataParallel, AutoCloseable {
    /**
     * @param backend "auto" (NCCL for CUDA training, else Gloo), "gloo" or "nccl"
     * @param timeout of every collective, and of the rendezvous (at least 5 minutes there)
     * @param bucketMb gradient bucket size in MiB (DDP's bucket_cap_mb, default 25)
     * @param overlap all-reduce buckets during the backward pass (c10d Reducer) rather than after it
     */
    public record Options(String backend, Duration timeout, double bucketMb, boolean overlap) {
        public Options {
            backend = backend == null ? "auto" : backend.toLowerCase(Locale.ROOT);
            if (!List.of("auto", "gloo", "nccl").contains(backend))
                throw new IllegalArgumentException("distributed backend must be auto, gloo or nccl, got '" + backend + "'");
            if (timeout == null || timeout.isNegative() || timeout.isZero())
                throw new IllegalArgumentException("distributed timeout must be > 0, got " + timeout);
            if (!(bucketMb > 0)) throw new IllegalArgumentException("bucket size must be > 0 MiB, got " + bucketMb);
        }

        /** auto backend, 10 minutes, 25 MiB buckets, overlapped. */
        public static Options defaults() {
            return new Options("auto", Duration.ofMinutes(10), 25, true);
        }

        public Options withBackend(String v) {
            return new Options(v, timeout, bucketMb, overlap);
        }

        public Options withTimeout(Duration v) {
            return new Options(backend, v, bucketMb, overlap);
        }

        public Options withBucketMb(double v) {
            return new Options(backend, timeout, v, overlap);
        }

        public Options withOverlap(boolean v) {
            return new Options(backend, timeout, bucketMb, v);
        }
    }

    static final Duration RENDEZVOUS_MIN = Duration.ofMinutes(5);
    /** TCPStore's libuv server: off unless RELABEL_TCPSTORE_LIBUV=1 (for jobs of many hundreds of ranks). */
    static final boolean USE_LIBUV = "1".equals(System.getenv("RELABEL_TCPSTORE_LIBUV"));
    private final DistEnv env;
    private final Options options;
    private final TCPStore store;
    private final ProcessGroup group;
    private final Backend gloo;
    private final Backend nccl;
    private final String backendName;
    private boolean closed;

    private Distributed(DistEnv env, Options options, TCPStore store, ProcessGroup group, Backend gloo, Backend nccl) {
        this.env = env;
        this.options = options;
        this.store = store;
        this.group = group;
        this.gloo = gloo;
        this.nccl = nccl;
        this.backendName = nccl != null ? "nccl" : "gloo";
    }

    /**
     * Joins the job {@code env} describes, for training on {@code cuda} (a GPU: NCCL unless the backend is "gloo")
     * or the CPU (Gloo). Blocks until every rank has joined, at most the timeout.
     *
     * @throws DistributedException when the rendezvous fails or times out (the message names the address)
     */
    public static Distributed init(DistEnv env, boolean cuda, Options options) {
        Torch.init();
        if (options.backend().equals("nccl") && !cuda)
            throw new IllegalArgumentException("the nccl backend needs a CUDA device (compute.device cuda); use gloo on the CPU");
        boolean useNccl = cuda && !options.backend().equals("gloo");
        Milliseconds timeout = new Milliseconds(options.timeout().toMillis());
        // Ranks start seconds apart (JVM, LibTorch, data set listing): the rendezvous waits at least 5 minutes.
        Duration rendezvous = options.timeout().compareTo(RENDEZVOUS_MIN) < 0 ? RENDEZVOUS_MIN : options.timeout();
        TCPStore store;
        try {
            TCPStoreOptions so = new TCPStoreOptions();
            so.port((short) env.masterPort()).isServer(env.rank() == 0)
                    .numWorkers(new SizeTPointer(1).put(env.worldSize())).waitWorkers(true)
                    .timeout(new Milliseconds(rendezvous.toMillis()))
                    // The classic server, not the libuv one (PyTorch's default since 2.4, made for thousands of
                    // ranks): rank 0 once aborted at exit with "corrupted double-linked list" on the libuv server.
                    .useLibUV(USE_LIBUV);
            store = new TCPStore(env.masterAddr(), so);
        } catch (RuntimeException e) {
            throw new DistributedException(String.format(Locale.ROOT, "rank %d of %d: rendezvous at %s:%d failed within "
                    + "%d s (%s); check MASTER_ADDR/MASTER_PORT, that the port is free on rank 0's host, and that "
                    + "every rank was started", env.rank(), env.worldSize(), env.masterAddr(), env.masterPort(),
                    rendezvous.toSeconds(), firstLine(e)), e);
        }
        try {
            ProcessGroupGloo.Options go = ProcessGroupGloo.Options.create(timeout);
            go.devices().push_back(glooDevice(env.masterAddr()));
            Backend gloo = new ProcessGroupGloo(new PrefixStore("gloo/", store), env.rank(), env.worldSize(), go);
            Backend nccl = useNccl ? NcclBackend.create(new PrefixStore("nccl/", store), env.rank(), env.worldSize(),
                    timeout) : null;
            // ProcessGroup(store, rank, size) aborts in this preset (an intrusive_ptr refcount assertion);
            // ProcessGroup(rank, size) is the same group without the store, which the backends hold already.
            ProcessGroup group = new ProcessGroup(env.rank(), env.worldSize());
            group.setBackend(DeviceType.CPU, ProcessGroup.BackendType.GLOO, new BackendOptional(gloo));
            if (nccl != null) {
                group.setBackend(DeviceType.CUDA, ProcessGroup.BackendType.NCCL, new BackendOptional(nccl));
                group.setDefaultBackend(ProcessGroup.BackendType.NCCL);
            } else {
                if (cuda) group.setBackend(DeviceType.CUDA, ProcessGroup.BackendType.GLOO, new BackendOptional(gloo));
                group.setDefaultBackend(ProcessGroup.BackendType.GLOO);
            }
            return new Distributed(env, options, store, group, gloo, nccl);
        } catch (RuntimeException e) {
            throw new DistributedException(String.format(Locale.ROOT, "rank %d of %d: creating the process group "
                    + "failed: %s", env.rank(), env.worldSize(), firstLine(e)), e);
        }
    }

    /**
     * Gloo's network device: the interface named by {@code GLOO_SOCKET_IFNAME} (PyTorch's variable), loopback for
     * a job on 127.0.0.1/localhost, else the address this host's name resolves to.
     */
    private static org.bytedeco.pytorch.gloo.Device glooDevice(String masterAddr) {
        String ifname = System.getenv("GLOO_SOCKET_IFNAME");
        if (ifname != null && !ifname.isBlank()) return ProcessGroupGloo.createDeviceForInterface(ifname.split(",")[0].trim());
        try {
            if (InetAddress.getByName(masterAddr).isLoopbackAddress()) return ProcessGroupGloo.createDeviceForHostname("127.0.0.1");
        } catch (UnknownHostException e) {
            // the store connected already, so the name resolves; fall through to the default device
        }
        return ProcessGroupGloo.createDefaultDevice();
    }

    public DistEnv env() {
        return env;
    }

    public Options options() {
        return options;
    }

    /** "gloo" or "nccl": the backend of the training tensors. */
    public String backendName() {
        return backendName;
    }

    /** The c10d process group (for callers that need other collectives). */
    public ProcessGroup processGroup() {
        return group;
    }

    @Override
    public int rank() {
        return env.rank();
    }

    @Override
    public int worldSize() {
        return env.worldSize();
    }

    @Override
    public void broadcastFromRank0(List<Tensor> tensors) {
        if (tensors.isEmpty()) return;
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            TensorVector v = new TensorVector();
            for (Tensor t : tensors) v.push_back(t);
            // DDP's initial sync: tensors flattened into buckets of up to 250 MiB, one broadcast per bucket.
            torch.broadcast_coalesced(group, v, 250L << 20, 0);
        } catch (RuntimeException e) {
            throw failure("broadcasting from rank 0", e);
        }
    }

    @Override
    public void allReduceSum(double[] values) {
        if (values.length == 0) return;
        try (PointerScope scope = new PointerScope()) {
            Tensor t = Tensor.create(values).clone();  // float64 on the CPU: Gloo
            group.allreduce(new TensorVector(t))._wait();
            java.nio.DoubleBuffer sum = t.createBuffer();
            sum.get(values);
        } catch (RuntimeException e) {
            throw failure("summing metrics", e);
        }
    }

    /** Waits until every rank gets here. */
    public void barrier() {
        try {
            group.barrier()._wait();
        } catch (RuntimeException e) {
            throw failure("a barrier", e);
        }
    }

    @Override
    public GradientReducer gradientReducer(List<Tensor> parameters) {
        long bucketBytes = (long) (options.bucketMb() * (1 << 20));
        return options.overlap() ? new OverlappedReducer(group, parameters, bucketBytes)
                : new BucketedReducer(group, parameters, bucketBytes, env.worldSize());
    }

    @Override
    public RuntimeException explain(RuntimeException failure, long step) {
        if (failure instanceof DistributedException d && d.where != null)
            return failure("step " + step + " (" + d.where + ")", (RuntimeException) d.getCause());
        if (!isCommunication(failure)) return failure;
        return failure("step " + step, failure);
    }

    private DistributedException failure(String where, RuntimeException e) {
        return new DistributedException(String.format(Locale.ROOT, "rank %d of %d stopped at %s: a %s collective "
                + "failed, so another rank has probably died or hung (timeout %d s; see the other ranks' output): %s",
                env.rank(), env.worldSize(), where, backendName, options.timeout().toSeconds(), firstLine(e)), e, where);
    }

    /** Gloo, NCCL and c10d errors, as opposed to the loop's own. */
    static boolean isCommunication(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = String.valueOf(t.getMessage());
            if (m.contains("gloo") || m.contains("Gloo") || m.contains("NCCL") || m.contains("c10d")
                    || m.contains("Connection closed by peer") || m.contains("Timed out waiting")) return true;
        }
        return false;
    }

    private static String firstLine(Throwable e) {
        String m = String.valueOf(e.getMessage()).strip();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    /** Leaves the job: releases the process group and, on rank 0, stops the store. Not a collective. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        group.close();
        if (nccl != null) nccl.close();
        gloo.close();
        store.close();
    }

    @Override
    public String toString() {
        return backendName + " " + env;
    }
}
