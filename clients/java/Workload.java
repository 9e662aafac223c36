// The clients' workload (clients/README.md) for Java's spymemcached, ascii or
// binary, with its ketama locator (KETAMA_HASH) keyed as libmemcached keys
// its continuum, so that it places keys as moxi does.
//
// usage: java -cp /usr/share/java/spymemcached.jar:DIR Workload SERVERS ascii|binary workload|place N
// SERVERS: host:port[:weight],...
// Prints one line per operation, `op key -> result`.

import java.net.InetSocketAddress;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.Future;
import net.spy.memcached.BinaryConnectionFactory;
import net.spy.memcached.CASValue;
import net.spy.memcached.ConnectionFactory;
import net.spy.memcached.DefaultConnectionFactory;
import net.spy.memcached.DefaultHashAlgorithm;
import net.spy.memcached.KetamaNodeLocator;
import net.spy.memcached.MemcachedClient;
import net.spy.memcached.MemcachedNode;
import net.spy.memcached.NodeLocator;
import net.spy.memcached.util.DefaultKetamaNodeLocatorConfiguration;
import net.spy.memcached.util.KetamaNodeLocatorConfiguration;

public final class Workload {
    static final int[] SIZES = {0, 1, 100, 1000, 10000, 100000};
    static final int SPREAD = 40;
    static final long TIMEOUT_MS = 10000;

    static byte[] value(int size, int salt) {
        byte[] v = new byte[size];
        for (int i = 0; i < size; i++) {
            v[i] = (byte) (97 + (i * 7 + size + salt) % 26);
        }
        return v;
    }

    static String show(Object v) throws Exception {
        if (v == null) {
            return "MISS";
        }
        if (v instanceof CASValue) {
            return show(((CASValue<?>) v).getValue());
        }
        if (!(v instanceof byte[])) {
            return v.getClass().getSimpleName() + " " + v;
        }
        byte[] b = (byte[]) v;
        StringBuilder hex = new StringBuilder();
        for (byte x : MessageDigest.getInstance("MD5").digest(b)) {
            hex.append(String.format("%02x", x));
        }
        return "len=" + b.length + " md5=" + hex.substring(0, 12);
    }

    interface Fmt {
        String apply(Object o) throws Exception;
    }

    static void step(String op, String key, Callable<Object> fn, Fmt fmt) {
        String out;
        try {
            Object r = fn.call();
            if (r instanceof Future) {
                r = ((Future<?>) r).get();
            }
            out = fmt.apply(r);
        } catch (Exception e) {
            Throwable t = e.getCause() != null ? e.getCause() : e;
            String msg = String.valueOf(t.getMessage()).replaceAll("127\\.0\\.0\\.1:\\d+", "ADDR");
            out = "ERR " + t.getClass().getSimpleName() + ": " + msg;
        }
        System.out.println(op + " " + key + " -> " + out);
    }

    static void step(String op, String key, Callable<Object> fn) {
        step(op, key, fn, String::valueOf);
    }

    static void workload(MemcachedClient c, boolean binary) throws Exception {
        step("flush_all", "-", () -> c.flush());
        step("get", "w:none", () -> c.get("w:none"), Workload::show);
        List<String> keys = new ArrayList<>();
        for (int size : SIZES) {
            String k = "w:v" + size;
            keys.add(k);
            step("set", k, () -> c.set(k, 0, value(size, 0)));
            step("get", k, () -> c.get(k), Workload::show);
        }
        for (int i = 0; i < SPREAD; i++) {
            String k = "w:s" + i;
            keys.add(k);
            byte[] v = value(i * 37 % 3000, i);
            step("set", k, () -> c.set(k, 0, v));
        }
        keys.add("w:none");
        keys.add("w:none2");
        Fmt multi = o -> {
            @SuppressWarnings("unchecked")
            Map<String, Object> got = new TreeMap<>((Map<String, Object>) o);
            StringBuilder b = new StringBuilder(got.size() + " hits");
            for (Map.Entry<String, Object> e : got.entrySet()) {
                b.append("\n  ").append(e.getKey()).append(' ').append(show(e.getValue()));
            }
            return b.toString();
        };
        step("get_multi", keys.size() + "-keys", () -> c.getBulk(keys), multi);
        step("add", "w:v1", () -> c.add("w:v1", 0, "x"));
        step("add", "w:new", () -> c.add("w:new", 0, "new"));
        step("get", "w:new", () -> c.get("w:new"), Workload::show);
        step("replace", "w:none", () -> c.replace("w:none", 0, "x"));
        step("replace", "w:new", () -> c.replace("w:new", 0, "renewed"));
        step("get", "w:new", () -> c.get("w:new"), Workload::show);
        step("set", "w:ap", () -> c.set("w:ap", 0, "base".getBytes()));
        step("append", "w:ap", () -> c.append("w:ap", ">tail".getBytes()));
        step("prepend", "w:ap", () -> c.prepend("w:ap", "head<".getBytes()));
        step("get", "w:ap", () -> c.get("w:ap"), Workload::show);
        step("append", "w:none", () -> c.append("w:none", "x".getBytes()));
        step("prepend", "w:none", () -> c.prepend("w:none", "x".getBytes()));
        counters(c);
        casSteps(c, binary);
        step("delete", "w:new", () -> c.delete("w:new"));
        step("delete", "w:new", () -> c.delete("w:new"));
        step("get", "w:new", () -> c.get("w:new"), Workload::show);
        step("touch", "w:v100", () -> c.touch("w:v100", 3600));
        step("touch", "w:none", () -> c.touch("w:none", 3600));
        step("get", "w:v100", () -> c.get("w:v100"), Workload::show);
        step("gat", "w:v1000", () -> c.getAndTouch("w:v1000", 3600), Workload::show);
        step("gat", "w:none", () -> c.getAndTouch("w:none", 3600), Workload::show);
        step("set", "w:ttl", () -> c.set("w:ttl", 3600, "t"));
        step("get", "w:ttl", () -> c.get("w:ttl"), Workload::show);
        step("set", "w:obj", () -> c.set("w:obj", 0, new HashMap<>(Map.of("a", List.of(1, 2.5, "x")))));
        step("get", "w:obj", () -> c.get("w:obj"));
        step("set", "w:long", () -> c.set("w:long", 0, 1234567890123L));
        step("get", "w:long", () -> c.get("w:long"), Workload::show);
        step("flush_all", "-", () -> c.flush());
        step("get", "w:v100", () -> c.get("w:v100"), Workload::show);
        step("get_multi", keys.size() + "-keys", () -> c.getBulk(keys), multi);
    }

    static void counters(MemcachedClient c) {
        step("set", "w:n", () -> c.set("w:n", 0, "10"));
        step("incr", "w:n", () -> c.incr("w:n", 5));
        step("decr", "w:n", () -> c.decr("w:n", 3));
        step("decr", "w:n", () -> c.decr("w:n", 100));
        step("incr", "w:n", () -> c.incr("w:n", 1000000));
        step("get", "w:n", () -> c.get("w:n"), Workload::show);
        step("set", "w:text", () -> c.set("w:text", 0, "abc"));
        step("incr", "w:text", () -> c.incr("w:text", 1));
        step("incr", "w:nonum", () -> c.incr("w:nonum", 1));
        step("decr", "w:nonum", () -> c.decr("w:nonum", 1));
        step("get", "w:nonum", () -> c.get("w:nonum"), Workload::show);
        // With a default a missing counter is created (binary: in one request).
        step("incr", "w:init", () -> c.incr("w:init", 1, 7));
        step("incr", "w:init", () -> c.incr("w:init", 1, 7));
        step("decr", "w:init2", () -> c.decr("w:init2", 1, 3));
    }

    static void casSteps(MemcachedClient c, boolean binary) throws Exception {
        step("set", "w:cas", () -> c.set("w:cas", 0, "one"));
        CASValue<Object> v = c.gets("w:cas");
        System.out.println("gets w:cas -> " + show(v));
        long token = v == null ? 0 : v.getCas();
        step("cas", "w:cas", () -> c.cas("w:cas", token, "two"));
        step("cas", "w:cas", () -> c.cas("w:cas", token, "three"));
        step("get", "w:cas", () -> c.get("w:cas"), Workload::show);
        step("cas", "w:none", () -> c.cas("w:none", token, "x"));
        step("gets", "w:none", () -> c.gets("w:none"), Workload::show);
        if (binary) {
            CASValue<Object> w = c.gets("w:cas");
            long now = w == null ? 0 : w.getCas();
            step("delete_cas", "w:cas", () -> c.delete("w:cas", now + 1));
            step("delete_cas", "w:cas", () -> c.delete("w:cas", now));
            step("get", "w:cas", () -> c.get("w:cas"), Workload::show);
        }
    }

    /**
     * spymemcached's ketama with libmemcached's continuum keys,
     * `host:port-i` (the port left out when it is 11211), host as written
     * in SERVERS: Format.LIBMEMCACHED takes the host from a reverse lookup
     * (127.0.0.1 becomes localhost), which libmemcached never does.
     */
    static NodeLocator ketama(List<MemcachedNode> nodes, Map<InetSocketAddress, Integer> weights) {
        KetamaNodeLocatorConfiguration keys = new DefaultKetamaNodeLocatorConfiguration() {
            @Override
            public String getKeyForNode(MemcachedNode node, int repetition) {
                InetSocketAddress a = (InetSocketAddress) node.getSocketAddress();
                String port = a.getPort() == 11211 ? "" : ":" + a.getPort();
                return a.getHostString() + port + "-" + repetition;
            }
        };
        if (weights.isEmpty()) {
            return new KetamaNodeLocator(nodes, DefaultHashAlgorithm.KETAMA_HASH, keys);
        }
        return new KetamaNodeLocator(nodes, DefaultHashAlgorithm.KETAMA_HASH, weights, keys);
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 3 || !(args[1].equals("ascii") || args[1].equals("binary"))) {
            System.err.println("usage: Workload SERVERS ascii|binary workload|place N");
            System.exit(2);
        }
        boolean binary = args[1].equals("binary");
        // host:port[:weight], as libmemcached and moxi's -z write it.
        List<InetSocketAddress> addrs = new ArrayList<>();
        Map<InetSocketAddress, Integer> weights = new HashMap<>();
        for (String s : args[0].split(",")) {
            String[] parts = s.split(":");
            InetSocketAddress a = new InetSocketAddress(parts[0], Integer.parseInt(parts[1]));
            addrs.add(a);
            if (parts.length > 2) {
                weights.put(a, Integer.parseInt(parts[2]));
            }
        }
        ConnectionFactory cf = binary
                ? new BinaryConnectionFactory() {
                    @Override
                    public NodeLocator createLocator(List<MemcachedNode> nodes) {
                        return ketama(nodes, weights);
                    }

                    @Override
                    public long getOperationTimeout() {
                        return TIMEOUT_MS;
                    }
                }
                : new DefaultConnectionFactory() {
                    @Override
                    public NodeLocator createLocator(List<MemcachedNode> nodes) {
                        return ketama(nodes, weights);
                    }

                    @Override
                    public long getOperationTimeout() {
                        return TIMEOUT_MS;
                    }
                };
        MemcachedClient c = new MemcachedClient(cf, addrs);
        try {
            if (args[2].equals("place")) {
                int n = Integer.parseInt(args[3]);
                List<Future<Boolean>> sets = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    sets.add(c.set("place:" + i, 0, String.valueOf(i)));
                }
                int stored = 0;
                for (Future<Boolean> f : sets) {
                    stored += f.get() ? 1 : 0;
                }
                System.out.println("stored " + stored);
            } else {
                workload(c, binary);
            }
        } finally {
            c.shutdown();
        }
    }
}
