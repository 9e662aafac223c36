<?php
// The clients' workload (clients/README.md) for PHP's memcached extension
// (libmemcached underneath), ascii or binary, with OPT_LIBKETAMA_COMPATIBLE
// (libmemcached KETAMA_WEIGHTED, moxi's default placement).
//
// usage: php workload.php SERVERS ascii|binary workload|place N
// SERVERS: host:port[:weight],...
// Prints one line per operation, `op key -> result`, where a result is what
// the call returned and libmemcached's result code.

const SIZES = [0, 1, 100, 1000, 10000, 100000];
const SPREAD = 40;

function value(int $size, int $salt = 0): string
{
    $v = '';
    for ($i = 0; $i < $size; $i++) {
        $v .= chr(97 + ($i * 7 + $size + $salt) % 26);
    }
    return $v;
}

function show($v): string
{
    if ($v === false || $v === null) {
        return 'MISS';
    }
    if (!is_string($v)) {
        return json_encode($v);
    }
    return sprintf('len=%d md5=%s', strlen($v), substr(md5($v), 0, 12));
}

function step(Memcached $m, string $op, string $key, callable $fn, ?callable $fmt = null): void
{
    $r = $fn();
    $out = $fmt ? $fmt($r) : json_encode($r);
    $code = $m->getResultCode();
    $msg = preg_replace('/127\.0\.0\.1:\d+/', 'ADDR', $m->getResultMessage());
    echo "$op $key -> $out [$code $msg]\n";
}

function workload(Memcached $m, bool $binary): void
{
    step($m, 'flush_all', '-', fn() => $m->flush());
    step($m, 'get', 'w:none', fn() => $m->get('w:none'), 'show');
    $keys = [];
    foreach (SIZES as $size) {
        $k = "w:v$size";
        $keys[] = $k;
        step($m, 'set', $k, fn() => $m->set($k, value($size)));
        step($m, 'get', $k, fn() => $m->get($k), 'show');
    }
    for ($i = 0; $i < SPREAD; $i++) {
        $k = "w:s$i";
        $keys[] = $k;
        step($m, 'set', $k, fn() => $m->set($k, value($i * 37 % 3000, $i)));
    }
    $keys[] = 'w:none';
    $keys[] = 'w:none2';
    $multi = function ($got) {
        if (!is_array($got)) {
            return json_encode($got);
        }
        ksort($got, SORT_STRING);
        $out = count($got) . ' hits';
        foreach ($got as $k => $v) {
            $out .= "\n  $k " . show($v);
        }
        return $out;
    };
    $n = count($keys);
    step($m, 'get_multi', "$n-keys", fn() => $m->getMulti($keys), $multi);
    step($m, 'add', 'w:v1', fn() => $m->add('w:v1', 'x'));
    step($m, 'add', 'w:new', fn() => $m->add('w:new', 'new'));
    step($m, 'get', 'w:new', fn() => $m->get('w:new'), 'show');
    step($m, 'replace', 'w:none', fn() => $m->replace('w:none', 'x'));
    step($m, 'replace', 'w:new', fn() => $m->replace('w:new', 'renewed'));
    step($m, 'get', 'w:new', fn() => $m->get('w:new'), 'show');
    step($m, 'set', 'w:ap', fn() => $m->set('w:ap', 'base'));
    step($m, 'append', 'w:ap', fn() => $m->append('w:ap', '>tail'));
    step($m, 'prepend', 'w:ap', fn() => $m->prepend('w:ap', 'head<'));
    step($m, 'get', 'w:ap', fn() => $m->get('w:ap'), 'show');
    step($m, 'append', 'w:none', fn() => $m->append('w:none', 'x'));
    step($m, 'prepend', 'w:none', fn() => $m->prepend('w:none', 'x'));
    counters($m, $binary);
    cas_steps($m);
    step($m, 'delete', 'w:new', fn() => $m->delete('w:new'));
    step($m, 'delete', 'w:new', fn() => $m->delete('w:new'));
    step($m, 'get', 'w:new', fn() => $m->get('w:new'), 'show');
    step($m, 'touch', 'w:v100', fn() => $m->touch('w:v100', 3600));
    step($m, 'touch', 'w:none', fn() => $m->touch('w:none', 3600));
    step($m, 'get', 'w:v100', fn() => $m->get('w:v100'), 'show');
    step($m, 'set', 'w:ttl', fn() => $m->set('w:ttl', 't', 3600));
    step($m, 'get', 'w:ttl', fn() => $m->get('w:ttl'), 'show');
    step($m, 'set_multi', 'w:m1,w:m2', fn() => $m->setMulti(['w:m1' => 'one', 'w:m2' => 2]));
    step($m, 'get', 'w:m2', fn() => $m->get('w:m2'), 'show');
    step($m, 'delete_multi', 'w:m1,w:none', fn() => $m->deleteMulti(['w:m1', 'w:none']));
    step($m, 'set', 'w:arr', fn() => $m->set('w:arr', ['a' => [1, 2.5, 'x']]));
    step($m, 'get', 'w:arr', fn() => $m->get('w:arr'), 'show');
    step($m, 'flush_all', '-', fn() => $m->flush());
    step($m, 'get', 'w:v100', fn() => $m->get('w:v100'), 'show');
    step($m, 'get_multi', "$n-keys", fn() => $m->getMulti($keys), $multi);
}

function counters(Memcached $m, bool $binary): void
{
    step($m, 'set', 'w:n', fn() => $m->set('w:n', '10'));
    step($m, 'incr', 'w:n', fn() => $m->increment('w:n', 5));
    step($m, 'decr', 'w:n', fn() => $m->decrement('w:n', 3));
    step($m, 'decr', 'w:n', fn() => $m->decrement('w:n', 100));
    step($m, 'incr', 'w:n', fn() => $m->increment('w:n', 1000000));
    step($m, 'get', 'w:n', fn() => $m->get('w:n'), 'show');
    step($m, 'set', 'w:max', fn() => $m->set('w:max', '18446744073709551615'));
    step($m, 'incr', 'w:max', fn() => $m->increment('w:max', 1));
    step($m, 'set', 'w:text', fn() => $m->set('w:text', 'abc'));
    step($m, 'incr', 'w:text', fn() => $m->increment('w:text', 1));
    step($m, 'incr', 'w:nonum', fn() => $m->increment('w:nonum', 1));
    step($m, 'decr', 'w:nonum', fn() => $m->decrement('w:nonum', 1));
    step($m, 'get', 'w:nonum', fn() => $m->get('w:nonum'), 'show');
    if ($binary) {
        // A missing counter is created with the initial value (binary only).
        step($m, 'incr', 'w:init', fn() => $m->increment('w:init', 1, 7));
        step($m, 'incr', 'w:init', fn() => $m->increment('w:init', 1, 7));
        step($m, 'decr', 'w:init2', fn() => $m->decrement('w:init2', 1, 3));
    }
}

function cas_steps(Memcached $m): void
{
    step($m, 'set', 'w:cas', fn() => $m->set('w:cas', 'one'));
    $got = $m->get('w:cas', null, Memcached::GET_EXTENDED);
    echo 'gets w:cas -> ' . show($got['value'] ?? null) . "\n";
    $token = $got['cas'] ?? 0;
    step($m, 'cas', 'w:cas', fn() => $m->cas($token, 'w:cas', 'two'));
    step($m, 'cas', 'w:cas', fn() => $m->cas($token, 'w:cas', 'three'));
    step($m, 'get', 'w:cas', fn() => $m->get('w:cas'), 'show');
    step($m, 'cas', 'w:none', fn() => $m->cas($token, 'w:none', 'x'));
    step($m, 'gets', 'w:none', fn() => $m->get('w:none', null, Memcached::GET_EXTENDED), 'show');
}

[$_, $servers, $protocol, $mode] = $argv + [null, null, null, null];
if (!$servers || !in_array($protocol, ['ascii', 'binary'], true) || !in_array($mode, ['workload', 'place'], true)) {
    fwrite(STDERR, "usage: php workload.php SERVERS ascii|binary workload|place N\n");
    exit(2);
}
$m = new Memcached();
$m->setOption(Memcached::OPT_BINARY_PROTOCOL, $protocol === 'binary');
$m->setOption(Memcached::OPT_LIBKETAMA_COMPATIBLE, true);
// append/prepend need uncompressed values.
$m->setOption(Memcached::OPT_COMPRESSION, false);
$m->setOption(Memcached::OPT_RECV_TIMEOUT, 10000000);
$m->setOption(Memcached::OPT_SEND_TIMEOUT, 10000000);
// host:port[:weight], as libmemcached and moxi's -z write it.
foreach (explode(',', $servers) as $s) {
    [$host, $port, $weight] = explode(':', $s) + [null, null, 0];
    $m->addServer($host, (int) $port, (int) $weight);
}
if ($mode === 'place') {
    $stored = 0;
    for ($i = 0; $i < (int) $argv[4]; $i++) {
        $stored += $m->set("place:$i", (string) $i) ? 1 : 0;
    }
    echo "stored $stored\n";
} else {
    workload($m, $protocol === 'binary');
}
