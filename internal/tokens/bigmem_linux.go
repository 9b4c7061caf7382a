package tokens

import (
	"syscall"
	"unsafe"
)

// On Linux the large arrays of the Checker's tables are mapped directly from the kernel
// instead of allocated on the Go heap. The collector sizes its heap target as twice the live
// heap, so 50 MB of tables on the heap would let garbage grow to another 50 MB before a
// collection; outside the heap they count once. Arrays under 256 KiB stay on the heap.
// (Asking for transparent huge pages made no measurable difference, so it is not done.)

const bigArrayBytes = 256 << 10

func mapBytes(n int) []byte {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil // fall back to the heap
	}
	return b
}

func allocWords(n int) []uint64 {
	if n*8 >= bigArrayBytes {
		if b := mapBytes(n * 8); b != nil {
			return unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), n)
		}
	}
	return make([]uint64, n)
}

func allocHalfWords(n int) []uint32 {
	if n*4 >= bigArrayBytes {
		if b := mapBytes(n * 4); b != nil {
			return unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(b))), n)
		}
	}
	return make([]uint32, n)
}

// The free functions hand every large array to syscall.Munmap, which unmaps only what
// syscall.Mmap mapped (it keeps a table) and returns EINVAL for a heap array left by a failed
// mapping, which the garbage collector then frees as usual.

func freeWords(w []uint64) {
	if len(w)*8 >= bigArrayBytes {
		unmap(unsafe.Pointer(unsafe.SliceData(w)), len(w)*8)
	}
}

func freeHalfWords(w []uint32) {
	if len(w)*4 >= bigArrayBytes {
		unmap(unsafe.Pointer(unsafe.SliceData(w)), len(w)*4)
	}
}

func unmap(p unsafe.Pointer, n int) {
	_ = syscall.Munmap(unsafe.Slice((*byte)(p), n))
}
