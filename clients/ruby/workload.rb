# The clients' workload (clients/README.md) for Ruby's dalli (binary protocol).
#
# usage: ruby workload.rb SERVERS binary workload|place N
# Prints one line per operation, `op key -> result`. dalli returns the new
# cas unique value from a store: it is printed as `cas`, never as a number.
require 'dalli'
require 'digest'
require 'logger'

SIZES = [0, 1, 100, 1000, 10_000, 100_000].freeze
SPREAD = 40

def value(size, salt = 0)
  (0...size).map { |i| (97 + (i * 7 + size + salt) % 26).chr }.join
end

def show(v)
  return 'MISS' if v.nil?

  "len=#{v.bytesize} md5=#{Digest::MD5.hexdigest(v)[0, 12]}"
end

# A store's reply: a cas unique value (an Integer) means stored.
def stored(r)
  r.is_a?(Integer) && r != 0 ? 'cas' : r.inspect
end

def step(op, key, fmt = method(:stored))
  out = begin
    fmt.call(yield)
  rescue StandardError => e
    "ERR #{e.class}: #{e.message.gsub(/127\.0\.0\.1:\d+/, 'ADDR')}"
  end
  puts "#{op} #{key} -> #{out}"
  $stdout.flush
end

RAW = { raw: true }.freeze
SHOW = method(:show)
INSPECT = ->(r) { r.inspect }

def workload(c)
  step('flush_all', '-', INSPECT) { c.flush_all.all? }
  step('get', 'w:none', SHOW) { c.get('w:none', RAW) }
  SIZES.each do |size|
    k = "w:v#{size}"
    step('set', k) { c.set(k, value(size), 0, RAW) }
    step('get', k, SHOW) { c.get(k, RAW) }
  end
  spread = (0...SPREAD).map { |i| "w:s#{i}" }
  spread.each_with_index { |k, i| step('set', k) { c.set(k, value(i * 37 % 3000, i), 0, RAW) } }
  keys = SIZES.map { |s| "w:v#{s}" } + spread + %w[w:none w:none2]
  multi = lambda do |got|
    "#{got.size} hits" + got.keys.sort.map { |k| "\n  #{k} #{show(got[k])}" }.join
  end
  step("get_multi", "#{keys.size}-keys", multi) { c.get_multi(keys) }
  step('add', 'w:v1') { c.add('w:v1', 'x', 0, RAW) }
  step('add', 'w:new') { c.add('w:new', 'new', 0, RAW) }
  step('get', 'w:new', SHOW) { c.get('w:new', RAW) }
  step('replace', 'w:none') { c.replace('w:none', 'x', 0, RAW) }
  step('replace', 'w:new') { c.replace('w:new', 'renewed', 0, RAW) }
  step('get', 'w:new', SHOW) { c.get('w:new', RAW) }
  step('set', 'w:ap') { c.set('w:ap', 'base', 0, RAW) }
  step('append', 'w:ap') { c.append('w:ap', '>tail') }
  step('prepend', 'w:ap') { c.prepend('w:ap', 'head<') }
  step('get', 'w:ap', SHOW) { c.get('w:ap', RAW) }
  step('append', 'w:none') { c.append('w:none', 'x') }
  step('prepend', 'w:none') { c.prepend('w:none', 'x') }
  counters(c)
  cas_steps(c)
  step('delete', 'w:new', INSPECT) { c.delete('w:new') }
  step('delete', 'w:new', INSPECT) { c.delete('w:new') }
  step('get', 'w:new', SHOW) { c.get('w:new', RAW) }
  step('touch', 'w:v100', INSPECT) { c.touch('w:v100', 3600) }
  step('touch', 'w:none', INSPECT) { c.touch('w:none', 3600) }
  step('get', 'w:v100', SHOW) { c.get('w:v100', RAW) }
  step('gat', 'w:v1000', SHOW) { c.gat('w:v1000', 3600) }
  step('gat', 'w:none', SHOW) { c.gat('w:none', 3600) }
  step('set', 'w:ttl') { c.set('w:ttl', 't', 3600, RAW) }
  step('get', 'w:ttl', SHOW) { c.get('w:ttl', RAW) }
  # multi: quiet SETQ/DELETEQ followed by a NOOP.
  step('set_noreply', 'w:q', INSPECT) do
    c.multi do
      c.set('w:q', 'quiet', 0, RAW)
      c.set('w:q2', 'quiet2', 0, RAW)
      c.delete('w:q2')
    end
  end
  step('get', 'w:q', SHOW) { c.get('w:q', RAW) }
  step('get', 'w:q2', SHOW) { c.get('w:q2', RAW) }
  step('set', 'w:obj') { c.set('w:obj', { 'a' => [1, 2.5, 'x'] }) }
  step('get', 'w:obj', INSPECT) { c.get('w:obj') }
  # Binary keys may hold spaces and control bytes; ascii's may not.
  ["w:sp ace", "w:ctl\x01"].each do |k|
    step('set', k.inspect) { c.set(k, 'b', 0, RAW) }
    step('get', k.inspect, SHOW) { c.get(k, RAW) }
  end
  step('flush_all', '-', INSPECT) { c.flush_all.all? }
  step('get', 'w:v100', SHOW) { c.get('w:v100', RAW) }
  step("get_multi", "#{keys.size}-keys", multi) { c.get_multi(keys) }
end

def counters(c)
  step('set', 'w:n') { c.set('w:n', '10', 0, RAW) }
  step('incr', 'w:n', INSPECT) { c.incr('w:n', 5) }
  step('decr', 'w:n', INSPECT) { c.decr('w:n', 3) }
  step('decr', 'w:n', INSPECT) { c.decr('w:n', 100) }
  step('incr', 'w:n', INSPECT) { c.incr('w:n', 1_000_000) }
  step('get', 'w:n', SHOW) { c.get('w:n', RAW) }
  step('set', 'w:max') { c.set('w:max', '18446744073709551615', 0, RAW) }
  step('incr', 'w:max', INSPECT) { c.incr('w:max', 1) }
  step('incr', 'w:text', INSPECT) { c.set('w:text', 'abc', 0, RAW) && c.incr('w:text', 1) }
  step('incr', 'w:nonum', INSPECT) { c.incr('w:nonum', 1) }
  step('decr', 'w:nonum', INSPECT) { c.decr('w:nonum', 1) }
  step('get', 'w:nonum', SHOW) { c.get('w:nonum', RAW) }
  # With a default, a missing counter is created (binary incr's initial value).
  step('incr', 'w:init', INSPECT) { c.incr('w:init', 1, 0, 7) }
  step('incr', 'w:init', INSPECT) { c.incr('w:init', 1, 0, 7) }
  step('decr', 'w:init2', INSPECT) { c.decr('w:init2', 1, 0, 3) }
end

def cas_steps(c)
  step('set', 'w:cas') { c.set('w:cas', 'one', 0, RAW) }
  v, token = c.get_cas('w:cas')
  puts "gets w:cas -> #{show(v)}"
  step('cas', 'w:cas') { c.set_cas('w:cas', 'two', token, 0, RAW) }
  step('cas', 'w:cas') { c.set_cas('w:cas', 'three', token, 0, RAW) }
  step('get', 'w:cas', SHOW) { c.get('w:cas', RAW) }
  step('cas', 'w:none') { c.set_cas('w:none', 'x', token, 0, RAW) }
  step('gets', 'w:none', ->(r) { show(r[0]) }) { c.get_cas('w:none') }
  step('cas_block', 'w:cas') { c.cas('w:cas', 0, RAW) { |old| "#{old}+" } }
  step('get', 'w:cas', SHOW) { c.get('w:cas', RAW) }
  step('cas_block', 'w:none', INSPECT) { c.cas('w:none', 0, RAW) { |old| "#{old}+" } }
  _, token = c.get_cas('w:cas')
  step('delete_cas', 'w:cas', INSPECT) { c.delete_cas('w:cas', token + 1) }
  step('delete_cas', 'w:cas', INSPECT) { c.delete_cas('w:cas', token) }
  step('get', 'w:cas', SHOW) { c.get('w:cas', RAW) }
end

def place(c, n)
  ok = (0...n).count { |i| c.set("place:#{i}", i.to_s, 0, RAW) }
  puts "stored #{ok}"
end

servers, protocol, mode, n = ARGV
abort 'usage: workload.rb SERVERS binary workload|place N' unless servers && mode
abort 'dalli 3.0 speaks binary only' unless protocol == 'binary'
Dalli.logger = Logger.new(nil)
client = Dalli::Client.new(servers.split(','), socket_timeout: 10, socket_max_failures: 0)
mode == 'place' ? place(client, n.to_i) : workload(client)
