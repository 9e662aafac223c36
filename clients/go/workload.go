// The clients' workload (clients/README.md) for Go's gomemcache (ascii).
//
// usage: workload SERVERS ascii workload|place N
//
// Built with GO111MODULE=off and GOPATH=/usr/share/gocode (Debian's
// golang-github-bradfitz-gomemcache-dev), so nothing is downloaded.
// Prints one line per operation, `op key -> result`.
package main

import (
	"crypto/md5"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

var sizes = []int{0, 1, 100, 1000, 10000, 100000}

const spread = 40

var addr = regexp.MustCompile(`127\.0\.0\.1:\d+`)

func value(size, salt int) []byte {
	v := make([]byte, size)
	for i := range v {
		v[i] = byte(97 + (i*7+size+salt)%26)
	}
	return v
}

func show(it *memcache.Item, err error) string {
	if err == memcache.ErrCacheMiss {
		return "MISS"
	}
	if err != nil {
		return errText(err)
	}
	sum := fmt.Sprintf("%x", md5.Sum(it.Value))
	return fmt.Sprintf("len=%d md5=%s flags=%d", len(it.Value), sum[:12], it.Flags)
}

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	return "ERR " + addr.ReplaceAllString(err.Error(), "ADDR")
}

func step(op, key, out string) {
	fmt.Printf("%s %s -> %s\n", op, key, out)
}

func counter(n uint64, err error) string {
	if err != nil {
		return errText(err)
	}
	return strconv.FormatUint(n, 10)
}

func workload(c *memcache.Client) {
	step("flush_all", "-", errText(c.FlushAll()))
	step("get", "w:none", show(c.Get("w:none")))
	var keys []string
	for _, size := range sizes {
		k := fmt.Sprintf("w:v%d", size)
		keys = append(keys, k)
		step("set", k, errText(c.Set(&memcache.Item{Key: k, Value: value(size, 0), Flags: uint32(size)})))
		step("get", k, show(c.Get(k)))
	}
	for i := 0; i < spread; i++ {
		k := fmt.Sprintf("w:s%d", i)
		keys = append(keys, k)
		step("set", k, errText(c.Set(&memcache.Item{Key: k, Value: value(i*37%3000, i)})))
	}
	keys = append(keys, "w:none", "w:none2")
	multi := func() string {
		got, err := c.GetMulti(keys)
		if err != nil {
			return errText(err)
		}
		var names []string
		for k := range got {
			names = append(names, k)
		}
		sort.Strings(names)
		var b strings.Builder
		fmt.Fprintf(&b, "%d hits", len(got))
		for _, k := range names {
			fmt.Fprintf(&b, "\n  %s %s", k, show(got[k], nil))
		}
		return b.String()
	}
	step("get_multi", fmt.Sprintf("%d-keys", len(keys)), multi())
	item := func(k, v string) *memcache.Item { return &memcache.Item{Key: k, Value: []byte(v)} }
	step("add", "w:v1", errText(c.Add(item("w:v1", "x"))))
	step("add", "w:new", errText(c.Add(item("w:new", "new"))))
	step("get", "w:new", show(c.Get("w:new")))
	step("replace", "w:none", errText(c.Replace(item("w:none", "x"))))
	step("replace", "w:new", errText(c.Replace(item("w:new", "renewed"))))
	step("get", "w:new", show(c.Get("w:new")))
	step("set", "w:n", errText(c.Set(item("w:n", "10"))))
	step("incr", "w:n", counter(c.Increment("w:n", 5)))
	step("decr", "w:n", counter(c.Decrement("w:n", 3)))
	step("decr", "w:n", counter(c.Decrement("w:n", 100)))
	step("incr", "w:n", counter(c.Increment("w:n", 1000000)))
	step("get", "w:n", show(c.Get("w:n")))
	step("set", "w:max", errText(c.Set(item("w:max", "18446744073709551615"))))
	step("incr", "w:max", counter(c.Increment("w:max", 1)))
	step("set", "w:text", errText(c.Set(item("w:text", "abc"))))
	step("incr", "w:text", counter(c.Increment("w:text", 1)))
	step("incr", "w:nonum", counter(c.Increment("w:nonum", 1)))
	step("decr", "w:nonum", counter(c.Decrement("w:nonum", 1)))
	step("get", "w:nonum", show(c.Get("w:nonum")))
	casSteps(c)
	step("delete", "w:new", errText(c.Delete("w:new")))
	step("delete", "w:new", errText(c.Delete("w:new")))
	step("get", "w:new", show(c.Get("w:new")))
	step("touch", "w:v100", errText(c.Touch("w:v100", 3600)))
	step("touch", "w:none", errText(c.Touch("w:none", 3600)))
	step("get", "w:v100", show(c.Get("w:v100")))
	step("set", "w:ttl", errText(c.Set(&memcache.Item{Key: "w:ttl", Value: []byte("t"), Expiration: 3600})))
	step("get", "w:ttl", show(c.Get("w:ttl")))
	// A negative exptime expires at once (protocol.txt, "Expiration times").
	step("set", "w:past", errText(c.Set(&memcache.Item{Key: "w:past", Value: []byte("p"), Expiration: -1})))
	step("get", "w:past", show(c.Get("w:past")))
	step("touch", "w:ttl", errText(c.Touch("w:ttl", -1)))
	step("get", "w:ttl", show(c.Get("w:ttl")))
	step("flush_all", "-", errText(c.FlushAll()))
	step("get", "w:v100", show(c.Get("w:v100")))
	step("get_multi", fmt.Sprintf("%d-keys", len(keys)), multi())
}

func casSteps(c *memcache.Client) {
	step("set", "w:cas", errText(c.Set(&memcache.Item{Key: "w:cas", Value: []byte("one")})))
	it, err := c.Get("w:cas")
	step("gets", "w:cas", show(it, err))
	if err != nil {
		return
	}
	it.Value = []byte("two")
	step("cas", "w:cas", errText(c.CompareAndSwap(it)))
	it.Value = []byte("three")
	step("cas", "w:cas", errText(c.CompareAndSwap(it)))
	step("get", "w:cas", show(c.Get("w:cas")))
	it.Key = "w:none"
	step("cas", "w:none", errText(c.CompareAndSwap(it)))
}

func main() {
	if len(os.Args) < 4 || os.Args[2] != "ascii" {
		fmt.Fprintln(os.Stderr, "usage: workload SERVERS ascii workload|place N")
		os.Exit(2)
	}
	c := memcache.New(strings.Split(os.Args[1], ",")...)
	c.Timeout = 10 * time.Second
	if os.Args[3] == "place" {
		n, _ := strconv.Atoi(os.Args[4])
		stored := 0
		for i := 0; i < n; i++ {
			v := strconv.Itoa(i)
			if c.Set(&memcache.Item{Key: "place:" + v, Value: []byte(v)}) == nil {
				stored++
			}
		}
		fmt.Printf("stored %d\n", stored)
		return
	}
	workload(c)
}
