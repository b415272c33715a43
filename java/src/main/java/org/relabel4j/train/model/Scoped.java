package org.relabel4j.train.model;

import java.util.function.Supplier;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

/**
 * Runs a computation in its own {@link PointerScope}, so that every intermediate tensor handle it creates is freed
 * when it returns, and hands the result to the caller's scope (the innermost one open on this thread), or, when the
 * caller has none, to the garbage collector (or the caller's {@code close()}). The caller always gets an owning
 * handle of its own, also when the body returns the alias of an in-place op.
 */
final class Scoped {
    private Scoped() {}

    /** {@code body} must return a tensor handle it created (not one passed in from outside). */
    static Tensor call(Supplier<Tensor> body) {
        Tensor out;
        try (PointerScope inner = new PointerScope()) {
            // A fresh owning handle: the body's result may be the non-owning alias an in-place op returns
            // (torch.relu_(x) hands back a view of x's handle), which would dangle once x is freed below.
            out = new Tensor(body.get());
            out.retainReference();  // survives the inner scope's close
        }
        PointerScope outer = PointerScope.getInnerScope();
        if (outer != null) {
            outer.attach(out);      // the caller's scope now holds it ...
            out.releaseReference(); // ... and only it
        }
        return out;
    }
}
