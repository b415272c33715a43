package org.relabel4j.model;

import java.util.function.Supplier;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

/**
 * Runs a computation in its own {@link PointerScope}, so that every intermediate tensor handle it creates is freed
 * when it returns, and hands the result to the caller's scope (the innermost one open on this thread), or, when the
 * caller has none, to the garbage collector (or the caller's {@code close()}).
 */
final class Scoped {
    private Scoped() {}

    /**
     * {@code body} returns a tensor computed inside it; the caller gets a new handle of its own on that tensor. The
     * new handle matters: what an in-place op returns ({@code relu_}, {@code add_}: a C++ {@code Tensor&}) is a
     * JavaCPP view of another handle, with no deallocator, which {@code retainReference} cannot keep alive; the
     * handle it views belongs to the inner scope and is freed with it.
     */
    static Tensor call(Supplier<Tensor> body) {
        Tensor out;
        try (PointerScope inner = new PointerScope()) {
            out = new Tensor(body.get());  // at::Tensor's copy: a handle (refcount) of our own, owned by `inner`
            out.retainReference();         // survives the inner scope's close
        }
        PointerScope outer = PointerScope.getInnerScope();
        if (outer != null) {
            outer.attach(out);      // the caller's scope now holds it ...
            out.releaseReference(); // ... and only it
        }
        return out;
    }

    /** {@link #call} for a computation with several results: each gets its own handle in the caller's scope. */
    static Tensor[] callAll(Supplier<Tensor[]> body) {
        Tensor[] out;
        try (PointerScope inner = new PointerScope()) {
            Tensor[] got = body.get();
            out = new Tensor[got.length];
            for (int i = 0; i < got.length; ++i) {
                out[i] = new Tensor(got[i]);
                out[i].retainReference();
            }
        }
        PointerScope outer = PointerScope.getInnerScope();
        if (outer != null) {
            for (Tensor t : out) {
                outer.attach(t);
                t.releaseReference();
            }
        }
        return out;
    }
}
