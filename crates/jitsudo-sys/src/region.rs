//! Allocation regions: a global allocator that, while a [`Region`] is
//! active on a thread, takes that thread's allocations from the region
//! instead of from malloc (issue 12).
//!
//! A region is one private anonymous mapping that allocations are bumped
//! from; freeing is a count. When its handle is gone and its last
//! allocation is freed, the whole mapping is returned to the kernel. Freed
//! memory is not used again, with one exception: a large block (a
//! parser's token list, a vector that grew) freed by the thread the region
//! is active on becomes the region's hole, and later allocations are
//! bumped from it before the end of the mapping, so memory already touched
//! is used again instead of fresh pages that the kernel must zero.
//! The daemon reads a policy inside a scratch region (so the parser's
//! temporaries neither go through malloc nor stay interleaved with the
//! policy in its heap), copies the policy into a second region (exactly its
//! size, one block), and drops the first: a reload leaves nothing behind,
//! and the replaced policy's memory goes back whole once the last request
//! holding it ends.
//!
//! Everything else, and every thread without an active region, uses the
//! system allocator unchanged. A region that is full, or that cannot be
//! created (no free slot, mmap refused), leaves allocations to malloc: a
//! region never changes what a program computes, only where its memory is.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};

/// Address space each region reserves (not memory: pages are only backed
/// once touched).
const REGION_BYTES: usize = 1 << 30;

/// Regions that can exist at once (a scratch region, the policy in force,
/// a replaced policy still held by a request, the next one).
const SLOTS: usize = 4;

/// No region is active on this thread.
const NONE: usize = usize::MAX;

/// The smallest freed block that becomes a region's hole: small frees stay
/// a count (they are many, and too small to be worth reusing).
const HOLE_BYTES: usize = 64 << 10;

/// The global allocator: the system's, except on a thread inside
/// [`Region::within`]. Install it with `#[global_allocator]`.
pub struct RegionAlloc;

/// One region's bookkeeping.
struct Slot {
    /// Taken by a region (set before `base`, cleared after it).
    claimed: AtomicBool,
    /// Start of the mapping; 0 while there is none.
    base: AtomicUsize,
    /// Next free byte (moved only by the thread the region is active on).
    next: AtomicUsize,
    /// Allocations not yet freed, plus one while the [`Region`] handle exists.
    live: AtomicUsize,
    /// Next free byte of the hole (see [`HOLE_BYTES`]); equal to
    /// `hole_end` when there is none. Only the thread the region is active
    /// on reads or writes the hole (the only one that allocates from it).
    hole_next: AtomicUsize,
    /// End of the hole.
    hole_end: AtomicUsize,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Slot = Slot {
    claimed: AtomicBool::new(false),
    base: AtomicUsize::new(0),
    next: AtomicUsize::new(0),
    live: AtomicUsize::new(0),
    hole_next: AtomicUsize::new(0),
    hole_end: AtomicUsize::new(0),
};

static TABLE: [Slot; SLOTS] = [EMPTY; SLOTS];

thread_local! {
    /// The slot this thread allocates from, or [`NONE`].
    static ACTIVE: Cell<usize> = const { Cell::new(NONE) };
}

/// The slot of the thread's active region.
fn active() -> Option<usize> {
    ACTIVE.try_with(Cell::get).ok().filter(|&slot| slot < SLOTS)
}

/// The slot whose mapping holds `ptr`.
fn owner(ptr: *mut u8) -> Option<usize> {
    let address = ptr as usize;
    TABLE.iter().position(|slot| {
        let base = slot.base.load(Ordering::Acquire);
        base != 0 && address.wrapping_sub(base) < REGION_BYTES
    })
}

/// Bumps `layout` from the slot's hole, or else from the rest of its
/// mapping; `None` when both are full. Called only by the thread the
/// region is active on: the one thread that moves `next`, `hole_next` and
/// `hole_end` (other threads only free, which changes `live`), so plain
/// loads and stores do.
fn bump(index: usize, layout: Layout) -> Option<*mut u8> {
    let slot = &TABLE[index];
    let end = slot.base.load(Ordering::Acquire) + REGION_BYTES;
    let ptr = take(
        &slot.hole_next,
        slot.hole_end.load(Ordering::Relaxed),
        layout,
    )
    .or_else(|| take(&slot.next, end, layout))?;
    slot.live.fetch_add(1, Ordering::Relaxed);
    Some(ptr)
}

/// Takes `layout` from the free bytes between `next` and `end`, if they
/// have room, and moves `next` past it.
fn take(next: &AtomicUsize, end: usize, layout: Layout) -> Option<*mut u8> {
    let start = next
        .load(Ordering::Relaxed)
        .checked_next_multiple_of(layout.align())?;
    let stop = start.checked_add(layout.size())?;
    if stop > end {
        return None;
    }
    next.store(stop, Ordering::Relaxed);
    Some(start as *mut u8)
}

/// Frees the block of `size` bytes at `ptr` in slot `index`. A large block
/// freed on the thread the region is active on joins the hole when it
/// borders the hole's free part, or else replaces the hole when it is
/// larger (what was left of the old one is not used again).
fn free(index: usize, ptr: *mut u8, size: usize) {
    if size >= HOLE_BYTES && active() == Some(index) {
        let slot = &TABLE[index];
        let (start, stop) = (ptr as usize, ptr as usize + size);
        let next = slot.hole_next.load(Ordering::Relaxed);
        let end = slot.hole_end.load(Ordering::Relaxed);
        if stop == next {
            slot.hole_next.store(start, Ordering::Relaxed);
        } else if start == end && next < end {
            slot.hole_end.store(stop, Ordering::Relaxed);
        } else if size > end - next {
            slot.hole_next.store(start, Ordering::Relaxed);
            slot.hole_end.store(stop, Ordering::Relaxed);
        }
    }
    release(index);
}

/// Counts one allocation (or the handle) of the slot as gone; the last one
/// unmaps the region and frees the slot.
fn release(index: usize) {
    let slot = &TABLE[index];
    if slot.live.fetch_sub(1, Ordering::Release) != 1 {
        return;
    }
    fence(Ordering::Acquire);
    let base = slot.base.swap(0, Ordering::AcqRel);
    // SAFETY: the mapping was made by `Region::new` with this size, and no
    // allocation in it is left (the count reached zero, and nothing is
    // bumped without the handle, which is gone): nothing points into it.
    unsafe {
        libc::munmap(base as *mut libc::c_void, REGION_BYTES);
    }
    slot.claimed.store(false, Ordering::Release);
}

// SAFETY: every block comes either from `System` (and goes back to it) or
// from a region's mapping, where blocks never overlap (bumped from the end
// of the mapping, or from the hole: a range of freed blocks that nothing
// else is bumped from) and the mapping lives until its last block is
// freed. `owner` tells the two apart by address.
//
// Not inlined: with link-time optimisation the bodies would otherwise be
// copied into every growing collection (1.2 MB more code, all resident).
unsafe impl GlobalAlloc for RegionAlloc {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match active().and_then(|slot| bump(slot, layout)) {
            Some(ptr) => ptr,
            // SAFETY: forwarded with the caller's guarantees.
            None => unsafe { System.alloc(layout) },
        }
    }

    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match owner(ptr) {
            Some(slot) => free(slot, ptr, layout.size()),
            // SAFETY: not in a region, so `System` allocated it.
            None => unsafe { System.dealloc(ptr, layout) },
        }
    }

    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(slot) = owner(ptr) else {
            // SAFETY: not in a region, so `System` allocated it.
            return unsafe { System.realloc(ptr, layout, new_size) };
        };
        if new_size <= layout.size() {
            return ptr;
        }
        if active() == Some(slot) && grow_in_place(slot, ptr, layout.size(), new_size) {
            return ptr;
        }
        // SAFETY: the caller guarantees that the new layout is valid.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: as for `alloc`.
        let moved = unsafe { self.alloc(new_layout) };
        if !moved.is_null() {
            // SAFETY: both blocks are at least `layout.size()` long and
            // distinct (the old one is still allocated).
            unsafe { std::ptr::copy_nonoverlapping(ptr, moved, layout.size()) };
            free(slot, ptr, layout.size());
        }
        moved
    }
}

/// Extends the last block bumped from the slot's hole or from the rest of
/// its mapping (a growing vector or string) when there is room after it.
/// Called only by the thread the region is active on.
fn grow_in_place(index: usize, ptr: *mut u8, old: usize, new: usize) -> bool {
    let slot = &TABLE[index];
    let end = slot.base.load(Ordering::Acquire) + REGION_BYTES;
    let (Some(old_stop), Some(new_stop)) = (
        (ptr as usize).checked_add(old),
        (ptr as usize).checked_add(new),
    ) else {
        return false;
    };
    let hole_end = slot.hole_end.load(Ordering::Relaxed);
    extend(&slot.hole_next, hole_end, old_stop, new_stop)
        || extend(&slot.next, end, old_stop, new_stop)
}

/// Moves `next` from `old_stop` to `new_stop` when the block ending at
/// `old_stop` is the last one taken before `next` and `end` leaves room.
fn extend(next: &AtomicUsize, end: usize, old_stop: usize, new_stop: usize) -> bool {
    let fits = next.load(Ordering::Relaxed) == old_stop && new_stop <= end;
    if fits {
        next.store(new_stop, Ordering::Relaxed);
    }
    fits
}

/// A handle on a region. Allocations made inside [`Region::within`] come
/// from it; the region's memory goes back to the kernel when the handle is
/// dropped and every such allocation has been freed.
pub struct Region {
    slot: usize,
    /// Used from the thread that made it.
    _local: PhantomData<*const ()>,
}

impl Region {
    /// Reserves a region, or `None` when every slot is taken or the
    /// mapping is refused. `huge`: back it with transparent huge pages
    /// where the kernel allows (fewer page faults for a large scratch).
    pub fn new(huge: bool) -> Option<Region> {
        let slot = TABLE.iter().position(|slot| {
            slot.claimed
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        })?;
        // SAFETY: a new private anonymous mapping; it touches no existing memory.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                REGION_BYTES,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            TABLE[slot].claimed.store(false, Ordering::Release);
            return None;
        }
        if huge {
            // SAFETY: advice on the mapping just made; failure is harmless.
            unsafe { libc::madvise(base, REGION_BYTES, libc::MADV_HUGEPAGE) };
        }
        let entry = &TABLE[slot];
        entry.hole_next.store(0, Ordering::Relaxed);
        entry.hole_end.store(0, Ordering::Relaxed);
        entry.next.store(base as usize, Ordering::Release);
        entry.live.store(1, Ordering::Release);
        entry.base.store(base as usize, Ordering::Release);
        Some(Region {
            slot,
            _local: PhantomData,
        })
    }

    /// Runs `f` with this thread's allocations taken from the region (those
    /// of a region already active are restored afterwards, even on panic).
    pub fn within<T>(&self, f: impl FnOnce() -> T) -> T {
        struct Restore(usize);
        impl Drop for Restore {
            fn drop(&mut self) {
                let _ = ACTIVE.try_with(|active| active.set(self.0));
            }
        }
        let _restore = Restore(ACTIVE.try_with(|a| a.replace(self.slot)).unwrap_or(NONE));
        f()
    }

    /// Bytes of the mapping used so far (blocks bumped from the hole are
    /// not counted again).
    pub fn used(&self) -> usize {
        let slot = &TABLE[self.slot];
        slot.next.load(Ordering::Acquire) - slot.base.load(Ordering::Acquire)
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        release(self.slot);
    }
}

/// How many regions are mapped now.
pub fn mapped() -> usize {
    TABLE
        .iter()
        .filter(|slot| slot.base.load(Ordering::Acquire) != 0)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[global_allocator]
    static ALLOC: RegionAlloc = RegionAlloc;

    /// The tests count the process's mapped regions: one at a time.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn serial() -> std::sync::MutexGuard<'static, ()> {
        SERIAL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    #[test]
    fn a_region_holds_what_is_built_inside_and_goes_when_it_is_freed() {
        let _serial = serial();
        let before = mapped();
        let region = Region::new(false).expect("a region");
        let words: Vec<String> = region.within(|| (0..1000).map(|i| i.to_string()).collect());
        assert!(region.used() >= 1000 * 3);
        assert!(owner(words.as_ptr() as *mut u8).is_some());
        let outside = String::from("malloc");
        assert!(owner(outside.as_ptr() as *mut u8).is_none());
        drop(region);
        assert_eq!(mapped(), before + 1, "the vector still lives in it");
        let mut grown = words;
        grown.push("moved out on growth".into());
        assert!(owner(grown.as_ptr() as *mut u8).is_none());
        assert_eq!(grown[999], "999");
        drop(grown);
        assert_eq!(mapped(), before);
    }

    #[test]
    fn a_large_block_freed_inside_is_used_again_and_nothing_overlaps() {
        let _serial = serial();
        let region = Region::new(false).expect("a region");
        region.within(|| {
            let large: Vec<u8> = vec![1; HOLE_BYTES * 2];
            let start = large.as_ptr() as usize;
            let kept = String::from("kept after the large block");
            drop(large);
            let used = region.used();
            let words: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
            for word in &words {
                let at = word.as_ptr() as usize;
                assert!((start..start + HOLE_BYTES * 2).contains(&at), "{at:x}");
            }
            let refill = vec![7u8; HOLE_BYTES];
            assert_eq!(region.used(), used, "bumped from the hole only");
            assert!(refill.iter().all(|&b| b == 7));
            assert_eq!(kept, "kept after the large block");
            assert_eq!(words[999], "999");
        });
    }

    #[test]
    fn a_large_block_freed_outside_is_only_counted() {
        let _serial = serial();
        let region = Region::new(false).expect("a region");
        let large: Vec<u8> = region.within(|| vec![1; HOLE_BYTES * 2]);
        drop(large);
        let used = region.used();
        let word = region.within(|| String::from("fresh"));
        assert!(region.used() > used, "not bumped from a hole");
        assert_eq!(word, "fresh");
    }
}
