package org.relabel4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.relabel4j.Relabel4j;
import org.relabel4j.torch.Torch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code relabel doctor}: what this installation can do, and where its pieces come from. */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = "Native library path and version, CUDA (built / available / GPUs), LibTorch version, threads.")
final class DoctorCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Override
    public Integer call() throws Exception {
        Map<String, Object> r = report();
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(r));
        } else {
            r.forEach((key, value) -> out.printf("%-22s %s%n", key + ":", value));
        }
        return 0;
    }

    /** {@link Relabel4j#info()} (the library and its natives) with LibTorch's lines ({@link Torch#info()}). */
    static Map<String, Object> report() {
        Map<String, Object> r = new LinkedHashMap<>(Relabel4j.info());
        Object cpu = r.remove("cpu threads"), java = r.remove("java");
        r.putAll(Torch.info());
        r.put("cpu threads", cpu);
        r.put("java", java);
        return r;
    }
}
