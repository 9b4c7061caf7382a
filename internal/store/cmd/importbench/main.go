// Command importbench measures store.ImportTokens against an Azure OATH CSV for the
// import target of docs/performance.md (1,000,000 rows within 3x of the sqlite3 shell's
// .import, at most 128 MiB peak RSS). It is a development tool driven by
// internal/store/testdata/bench-import.sh, not part of mfactl.
//
//	importbench -gen 1000000 -out tokens.csv      write a deterministic token file
//	                                              (-scatter: UPNs unrelated to serial order)
//	importbench -db dir/mfactl.db tokens.csv      import it, print time, counts and peak RSS
package main

import (
	"bufio"
	"context"
	"encoding/base32"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mfactl/mfactl/internal/store"
)

func main() {
	gen := flag.Int("gen", 0, "generate a CSV with this many rows instead of importing")
	out := flag.String("out", "", "output file for -gen")
	users := flag.Int("users", 0, "distinct UPNs in the generated file (0: one per row)")
	scatter := flag.Bool("scatter", false, "give the rows' UPNs in scattered order instead of the serials' order")
	dbPath := flag.String("db", "", "database to import into")
	onDup := flag.String("on-duplicate", "fail", "fail, skip or update")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	memProfile := flag.String("memprofile", "", "write an allocation profile to this file at the end")
	flag.Parse()
	if *memProfile != "" {
		runtime.MemProfileRate = 64 << 10
		defer func() {
			if f, err := os.Create(*memProfile); err == nil {
				pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	if err := run(*gen, *out, *users, *scatter, *dbPath, *onDup, flag.Args()); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "importbench:", err)
		os.Exit(1)
	}
}

func run(gen int, out string, users int, scatter bool, dbPath, onDup string, args []string) error {
	if gen > 0 {
		return generate(gen, users, scatter, out)
	}
	if dbPath == "" || len(args) != 1 {
		return errors.New("usage: importbench -db FILE tokens.csv")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	db, err := store.Open(ctx, dbPath, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := db.ImportTokens(ctx, readCSV(f, args[0]), store.ImportOptions{OnDuplicate: store.DuplicatePolicy(onDup)})
	elapsed := time.Since(start)
	if err != nil {
		return err
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Printf("rows=%d imported=%d unchanged=%d updated=%d users_created=%d seconds=%.2f maxrss_mib=%.1f\n",
		res.Rows, res.Imported, res.Unchanged, res.Updated, res.UsersCreated, elapsed.Seconds(), float64(ru.Maxrss)/1024)
	return nil
}

// readCSV streams the Azure columns of a generated file (fixed header order, no quoting
// surprises); the real command validates with internal/tokens first.
func readCSV(r io.Reader, name string) iter.Seq2[store.ImportRow, error] {
	return func(yield func(store.ImportRow, error) bool) {
		cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
		cr.ReuseRecord = true
		if _, err := cr.Read(); err != nil {
			yield(store.ImportRow{}, err)
			return
		}
		enc := base32.StdEncoding.WithPadding(base32.NoPadding)
		secret := make([]byte, 0, 80)
		for line := 2; ; line++ {
			rec, err := cr.Read()
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(store.ImportRow{}, err)
				return
			}
			secret = secret[:enc.DecodedLen(len(rec[2]))]
			n, err := enc.Decode(secret, []byte(rec[2]))
			if err != nil {
				yield(store.ImportRow{}, fmt.Errorf("%s:%d: secret key: not Base32", name, line))
				return
			}
			period, _ := strconv.Atoi(rec[3])
			row := store.ImportRow{Line: line, UPN: strings.Clone(rec[0]), Serial: strings.Clone(rec[1]), Secret: secret[:n],
				Period: period, Digits: 6, Hash: "SHA1", Manufacturer: strings.Clone(rec[4]), Model: strings.Clone(rec[5]), SourceFile: name}
			if !yield(row, nil) {
				return
			}
		}
	}
}

func generate(n, users int, scatter bool, out string) error {
	if out == "" {
		return errors.New("-gen needs -out")
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	w.WriteString("upn,serial number,secret key,time interval,manufacturer,model\n")
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], 20250101)
	rng := rand.NewChaCha8(seed)
	secret := make([]byte, 20)
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	for i := 0; i < n; i++ {
		u := i
		if scatter {
			// A bijection of [0, n) (7919 is prime and does not divide n in practice): UPNs in
			// no relation to serial order, as in a vendor file assigned to staff.
			u = int((int64(i)*7919 + 12345) % int64(n))
		}
		if users > 0 {
			u %= users
		}
		rng.Read(secret)
		fmt.Fprintf(w, "user%07d@contoso.com,SN%08d,%s,30,Contoso,HardwareKey\n", u, i, enc.EncodeToString(secret))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
