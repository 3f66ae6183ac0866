//! The conversation table: conversations in a slab, each on one of three lists kept in
//! order of last activity (open TCP, over TCP, UDP). Since every list has one timeout, its
//! front is both its longest-idle conversation and the next to time out: expiry and
//! eviction are O(1), with no timer heap and no per-packet allocation. Also the graveyard:
//! what is kept, bounded, of conversations that left.

use std::collections::VecDeque;

use super::{TcpConv, Tomb, UdpConv};

const NIL: u32 = u32::MAX;

/// Which list a conversation is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    TcpOpen = 0,
    /// Over (FINs acknowledged, or RST): waiting the close delay for late segments.
    TcpOver = 1,
    Udp = 2,
}

pub enum Conv {
    /// Boxed so the slab's growth moves pointers, not 700-byte conversations.
    Tcp(Box<TcpConv>),
    Udp(Box<UdpConv>),
}

struct Entry {
    conv: Option<Conv>,
    /// Last activity on the tracker's clock (nanoseconds).
    active: i128,
    list: List,
    prev: u32,
    next: u32,
}

#[derive(Clone, Copy)]
struct Ends {
    head: u32,
    tail: u32,
}

/// Conversations by slot number; slots are reused once free.
pub struct Table {
    entries: Vec<Entry>,
    free: Vec<u32>,
    lists: [Ends; 3],
}

impl Table {
    pub fn new() -> Self {
        Table {
            entries: Vec::new(),
            free: Vec::new(),
            lists: [Ends {
                head: NIL,
                tail: NIL,
            }; 3],
        }
    }

    /// Conversations held.
    pub fn len(&self) -> usize {
        self.entries.len() - self.free.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Puts `conv` at the back of `list`, active `now`; returns its slot.
    pub fn insert(&mut self, conv: Conv, list: List, now: i128) -> u32 {
        let entry = Entry {
            conv: Some(conv),
            active: now,
            list,
            prev: NIL,
            next: NIL,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.entries[i as usize] = entry;
                i
            }
            None => {
                self.entries.push(entry);
                (self.entries.len() - 1) as u32
            }
        };
        self.link_back(i, list);
        i
    }

    fn link_back(&mut self, i: u32, list: List) {
        let ends = self.lists[list as usize];
        let e = &mut self.entries[i as usize];
        e.list = list;
        e.prev = ends.tail;
        e.next = NIL;
        if ends.tail == NIL {
            self.lists[list as usize].head = i;
        } else {
            self.entries[ends.tail as usize].next = i;
        }
        self.lists[list as usize].tail = i;
    }

    fn unlink(&mut self, i: u32) {
        let (prev, next, list) = {
            let e = &self.entries[i as usize];
            (e.prev, e.next, e.list as usize)
        };
        if prev == NIL {
            self.lists[list].head = next;
        } else {
            self.entries[prev as usize].next = next;
        }
        if next == NIL {
            self.lists[list].tail = prev;
        } else {
            self.entries[next as usize].prev = prev;
        }
    }

    /// Activity on slot `i` now: it moves to the back of `list` (its list may change, as
    /// when a connection closes).
    pub fn touch(&mut self, i: u32, list: List, now: i128) {
        if self.get(i).is_none() {
            return;
        }
        self.unlink(i);
        self.entries[i as usize].active = now;
        self.link_back(i, list);
    }

    /// Every conversation active `now` (lists keep their order: all alike).
    pub fn restamp(&mut self, now: i128) {
        for e in &mut self.entries {
            if e.conv.is_some() {
                e.active = now;
            }
        }
    }

    /// Takes the conversation out of slot `i`, which becomes free.
    pub fn take(&mut self, i: u32) -> Option<Conv> {
        self.entries.get(i as usize)?.conv.as_ref()?;
        self.unlink(i);
        self.free.push(i);
        self.entries[i as usize].conv.take()
    }

    pub fn get(&self, i: u32) -> Option<&Conv> {
        self.entries.get(i as usize)?.conv.as_ref()
    }

    pub fn tcp(&self, i: u32) -> Option<&TcpConv> {
        match self.get(i)? {
            Conv::Tcp(c) => Some(c),
            Conv::Udp(_) => None,
        }
    }

    /// The flow key of the conversation at `i`, if it is of the protocol asked for.
    pub fn key(&self, i: u32, tcp: bool) -> Option<super::FlowKey> {
        match self.get(i)? {
            Conv::Tcp(c) if tcp => Some(c.key),
            Conv::Udp(c) if !tcp => Some(c.key),
            _ => None,
        }
    }

    pub fn tcp_mut(&mut self, i: u32) -> Option<&mut TcpConv> {
        match self.entries.get_mut(i as usize)?.conv.as_mut()? {
            Conv::Tcp(c) => Some(c),
            Conv::Udp(_) => None,
        }
    }

    pub fn udp_mut(&mut self, i: u32) -> Option<&mut UdpConv> {
        match self.entries.get_mut(i as usize)?.conv.as_mut()? {
            Conv::Udp(c) => Some(c),
            Conv::Tcp(_) => None,
        }
    }

    /// The longest-idle conversation of `list`, and when it was last active.
    pub fn front(&self, list: List) -> Option<(u32, i128)> {
        let h = self.lists[list as usize].head;
        (h != NIL).then(|| (h, self.entries[h as usize].active))
    }

    /// Every slot that holds a conversation.
    pub fn slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.conv.is_some())
            .map(|(i, _)| i as u32)
    }

    pub fn clear(&mut self) {
        *self = Table::new();
    }
}

impl Default for Table {
    fn default() -> Self {
        Table::new()
    }
}

/// The slot of each flow's current conversation, by flow key. Only the slot is stored (4
/// bytes an entry, where a map from keys held 44): the key is the conversation's own, read
/// to check a match (the packet reads that conversation next anyway), and a removal matches
/// on the slot alone. A smaller index stays in the cache: a flood looks it up, inserts
/// and removes for nearly every packet.
#[derive(Default)]
pub struct FlowIndex {
    slots: hashbrown::HashTable<u32>,
}

impl FlowIndex {
    fn hash(key: &super::FlowKey) -> u64 {
        use std::hash::BuildHasher;
        rustc_hash::FxBuildHasher.hash_one(key)
    }

    /// The slot of `key`'s conversation; `key_of` gives the key of the conversation at a slot.
    #[inline]
    pub fn get(
        &self,
        key: &super::FlowKey,
        key_of: impl Fn(u32) -> Option<super::FlowKey>,
    ) -> Option<u32> {
        self.slots
            .find(FlowIndex::hash(key), |&s| key_of(s).as_ref() == Some(key))
            .copied()
    }

    /// Whether `key`'s entry is `slot`.
    pub fn holds(&self, key: &super::FlowKey, slot: u32) -> bool {
        self.slots
            .find(FlowIndex::hash(key), |&s| s == slot)
            .is_some()
    }

    /// Removes `key`'s entry if it is `slot`.
    pub fn remove(&mut self, key: &super::FlowKey, slot: u32) {
        if let Ok(e) = self.slots.find_entry(FlowIndex::hash(key), |&s| s == slot) {
            e.remove();
        }
    }

    /// Points `key` at `slot` (the conversation at `slot` has that key), replacing an older
    /// conversation's entry.
    pub fn insert(
        &mut self,
        key: super::FlowKey,
        slot: u32,
        key_of: impl Fn(u32) -> Option<super::FlowKey>,
    ) {
        let hash = FlowIndex::hash(&key);
        match self
            .slots
            .find_mut(hash, |&s| s != slot && key_of(s) == Some(key))
        {
            Some(s) => *s = slot,
            None => {
                self.slots.insert_unique(hash, slot, |&s| {
                    key_of(s).map_or(0, |k| FlowIndex::hash(&k))
                });
            }
        }
    }

    pub fn clear(&mut self) {
        self.slots.clear();
    }
}

/// Tombs of one protocol, bounded twice: all tombs (small: stream, client, bases) and the
/// ones that still carry TCP analysis state (larger). The oldest go first; an old heavy tomb
/// first loses its analysis state, then, older still, its place.
///
/// Both kinds are kept in burial order in queues that are the storage itself, addressed by
/// burial sequence number: a burial writes at the back (memory the processor sees coming),
/// the oldest leaves from the front, and the map from flows holds only sequence numbers. A
/// flood buries a conversation per packet: a map of tombs beside order queues, with a boxed
/// TCP tomb, missed the cache about five times per burial (insert, the oldest's lookup and
/// removal, the heavy tomb's drop and free); this misses twice (insert, the oldest's removal).
pub struct Graveyard {
    /// Each buried flow's tomb, by digest (the digest is its hash): the low 32 bits of its
    /// sequence number (the queue never spans more), checked against the tomb's own digest.
    /// Four bytes an entry where a map held sixteen: a new conversation looks its flow up
    /// here, and a smaller index stays in the cache.
    index: hashbrown::HashTable<u32>,
    /// Tombs from sequence number `first` on; exhumed ones leave holes, dropped at the front
    /// and squeezed out when they are as many as the tombs.
    tombs: VecDeque<Buried>,
    first: u64,
    /// The TCP analysis states, likewise, from `heavy_first` on.
    heavies: VecDeque<Heavy>,
    heavy_first: u64,
    heavy: usize,
    bound: usize,
    heavy_bound: usize,
}

/// A tomb without its TCP analysis state, which is at sequence number `heavy` of the heavy
/// queue while it is there.
struct Buried {
    digest: u64,
    stream: u32,
    client: super::Side,
    bases: super::BySide<Option<super::SeqNumber>>,
    burial: u32,
    heavy: u64,
    /// Exhumed, or buried again later.
    hole: bool,
}

/// A TCP analysis state (`None` once taken: a hole).
struct Heavy {
    /// The sequence number of the tomb it belongs to.
    owner: u64,
    tcp: Option<super::tcp::TcpTomb>,
}

const NO_HEAVY: u64 = u64::MAX;

impl Graveyard {
    pub fn new(bound: usize, heavy_bound: usize) -> Self {
        Graveyard {
            index: hashbrown::HashTable::new(),
            tombs: VecDeque::new(),
            first: 0,
            heavies: VecDeque::new(),
            heavy_first: 0,
            heavy: 0,
            bound: bound.max(1),
            heavy_bound,
        }
    }

    /// Tombs buried (each has one index entry).
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Tombs that still carry TCP analysis state.
    pub fn heavy(&self) -> usize {
        self.heavy
    }

    /// Where the tomb of sequence number `seq` (its low 32 bits) is in a queue of `len`
    /// tombs from `first`.
    fn place(first: u64, len: usize, seq: u32) -> Option<usize> {
        let at = seq.wrapping_sub(first as u32) as usize;
        (at < len).then_some(at)
    }

    /// Takes the tomb of flow `digest`, if it has one.
    pub fn exhume(&mut self, digest: u64) -> Option<Tomb> {
        let (first, tombs) = (self.first, &self.tombs);
        let found = self.index.find_entry(digest, |&v| {
            Graveyard::place(first, tombs.len(), v).is_some_and(|at| tombs[at].digest == digest)
        });
        let (seq, _) = found.ok()?.remove();
        let at = Graveyard::place(self.first, self.tombs.len(), seq)?;
        let b = self.tombs.get_mut(at)?;
        b.hole = true;
        let (stream, client, bases, burial, heavy) =
            (b.stream, b.client, b.bases, b.burial, b.heavy);
        Some(Tomb {
            stream,
            client,
            bases,
            burial,
            tcp: self.take_heavy(heavy),
        })
    }

    /// The analysis state at `seq` of the heavy queue, if still there.
    fn take_heavy(&mut self, seq: u64) -> Option<super::tcp::TcpTomb> {
        let at = usize::try_from(seq.checked_sub(self.heavy_first)?).ok()?;
        let tcp = self.heavies.get_mut(at)?.tcp.take()?;
        self.heavy -= 1;
        Some(tcp)
    }

    /// Buries `tomb` (its `burial` number set by the caller) under `digest`.
    pub fn bury(&mut self, digest: u64, tomb: Tomb) {
        let Tomb {
            stream,
            client,
            bases,
            burial,
            tcp,
        } = tomb;
        let seq = self.first + self.tombs.len() as u64;
        let heavy = match tcp {
            Some(tcp) => {
                self.heavies.push_back(Heavy {
                    owner: seq,
                    tcp: Some(tcp),
                });
                self.heavy += 1;
                self.heavy_first + self.heavies.len() as u64 - 1
            }
            None => NO_HEAVY,
        };
        self.tombs.push_back(Buried {
            digest,
            stream,
            client,
            bases,
            burial,
            heavy,
            hole: false,
        });
        // A flow buried again (rare: a tomb is exhumed when its flow comes back) leaves a hole
        // where it was.
        let (first, tombs) = (self.first, &self.tombs);
        let here = seq as u32;
        let before = match self.index.find_mut(digest, |&v| {
            v != here
                && Graveyard::place(first, tombs.len(), v)
                    .is_some_and(|at| tombs[at].digest == digest)
        }) {
            Some(v) => Some(std::mem::replace(v, here)),
            None => {
                self.index.insert_unique(digest, here, |&v| {
                    Graveyard::place(first, tombs.len(), v).map_or(0, |at| tombs[at].digest)
                });
                None
            }
        };
        if let Some(at) = before.and_then(|v| Graveyard::place(first, tombs.len(), v))
            && let Some(b) = self.tombs.get_mut(at)
        {
            b.hole = true;
            let h = b.heavy;
            self.take_heavy(h);
        }
        // The oldest analysis states go first, then the oldest tombs.
        while self.heavy > self.heavy_bound {
            let Some(h) = self.heavies.pop_front() else {
                break;
            };
            self.heavy_first += 1;
            if h.tcp.is_some() {
                self.heavy -= 1;
            }
        }
        while self.index.len() > self.bound {
            let Some(b) = self.tombs.pop_front() else {
                break;
            };
            let seq = self.first as u32;
            self.first += 1;
            if !b.hole {
                if let Ok(e) = self.index.find_entry(b.digest, |&v| v == seq) {
                    e.remove();
                }
                self.take_heavy(b.heavy);
            }
        }
        self.tidy();
    }

    /// Drops holes at the fronts, and squeezes the holes out of a queue when they are many:
    /// the analysis states (400 bytes each) at a quarter, the tombs when they outnumber what
    /// is kept (their new sequence numbers go into the index, one lookup each).
    fn tidy(&mut self) {
        while self.tombs.front().is_some_and(|b| b.hole) {
            self.tombs.pop_front();
            self.first += 1;
        }
        while self.heavies.front().is_some_and(|h| h.tcp.is_none()) {
            self.heavies.pop_front();
            self.heavy_first += 1;
        }
        if self.heavies.len() > self.heavy + self.heavy / 4 + 16 {
            self.squeeze_heavies();
        }
        if self.tombs.len() > 2 * self.index.len() + 16 {
            self.squeeze_tombs();
        }
    }

    /// Moves the analysis states still kept to the front of their queue, in order, and points
    /// their tombs at their new places. A hole's number can be given again: a hole's tomb is
    /// gone or a hole itself, and never looks for its state again.
    fn squeeze_heavies(&mut self) {
        let mut kept = 0;
        for at in 0..self.heavies.len() {
            if self.heavies[at].tcp.is_none() {
                continue;
            }
            self.heavies.swap(kept, at);
            let seq = self.heavy_first + kept as u64;
            let owner = self.heavies[kept].owner;
            if let Some(b) = usize::try_from(owner.wrapping_sub(self.first))
                .ok()
                .and_then(|i| self.tombs.get_mut(i))
            {
                b.heavy = seq;
            }
            kept += 1;
        }
        self.heavies.truncate(kept);
    }

    /// Drops the tombs' holes; the tombs kept take new sequence numbers, after every one
    /// given so far (the index's entries are checked against them, so none is reused).
    fn squeeze_tombs(&mut self) {
        let next = self.first + self.tombs.len() as u64;
        let mut kept = 0u64;
        for (i, b) in self.tombs.iter().enumerate() {
            if b.hole {
                continue;
            }
            let (old, new) = (self.first + i as u64, next + kept);
            if let Some(v) = self.index.find_mut(b.digest, |&v| v == old as u32) {
                *v = new as u32;
            }
            if let Some(h) = usize::try_from(b.heavy.wrapping_sub(self.heavy_first))
                .ok()
                .and_then(|at| self.heavies.get_mut(at))
                .filter(|h| h.owner == old)
            {
                h.owner = new;
            }
            kept += 1;
        }
        self.tombs.retain(|b| !b.hole);
        self.first = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;
    use crate::track::{BySide, FlowKey, SeqNumber, Side};
    use rustc_hash::FxHashMap;

    fn udp(n: u32) -> Conv {
        let ip: std::net::IpAddr = "127.0.0.1".parse().expect("test data");
        let (key, side) = FlowKey::new(ip, n as u16, ip, 53);
        Conv::Udp(Box::new(UdpConv::new(
            n,
            key,
            side,
            1,
            Timestamp::default(),
        )))
    }

    #[test]
    fn test_lists_keep_order_of_activity() {
        let mut t = Table::new();
        let a = t.insert(udp(1), List::Udp, 10);
        let b = t.insert(udp(2), List::Udp, 20);
        let c = t.insert(udp(3), List::Udp, 30);
        assert_eq!(t.front(List::Udp), Some((a, 10)));
        t.touch(a, List::Udp, 40);
        assert_eq!(t.front(List::Udp), Some((b, 20)));
        // Moving to another list takes it off this one.
        t.touch(b, List::TcpOver, 50);
        assert_eq!(t.front(List::Udp), Some((c, 30)));
        assert_eq!(t.front(List::TcpOver), Some((b, 50)));
        assert!(t.take(c).is_some());
        assert!(t.take(c).is_none(), "a slot is taken once");
        assert_eq!(t.front(List::Udp), Some((a, 40)));
        assert_eq!(t.len(), 2);
        // A freed slot is reused.
        let d = t.insert(udp(4), List::Udp, 60);
        assert_eq!(d, c);
        assert_eq!(t.slots().count(), 3);
    }

    pub(super) fn tomb(stream: u32, burial: u32, heavy: bool) -> Tomb {
        Tomb {
            stream,
            client: Side::Lo,
            bases: BySide([Some(SeqNumber(1)), None]),
            burial,
            tcp: heavy.then(|| {
                let ip: std::net::IpAddr = "127.0.0.1".parse().expect("test data");
                let (key, _) = FlowKey::new(ip, 1, ip, 2);
                let mut c = TcpConv::new(
                    stream,
                    key,
                    Side::Lo,
                    crate::wire::tcp::TcpFlags(crate::wire::tcp::SYN),
                    1,
                    Timestamp::default(),
                );
                c.bury().tcp.expect("a TCP tomb")
            }),
        }
    }

    #[test]
    fn test_graveyard_bounds_heavy_then_all() {
        let mut g = Graveyard::new(4, 2);
        for n in 0..3u32 {
            g.bury(u64::from(n), tomb(n, n + 1, true));
        }
        // Three heavy tombs, room for two: the oldest lost its analysis state only.
        assert_eq!((g.len(), g.heavy()), (3, 2));
        let t0 = g.exhume(0).expect("still buried");
        assert!(t0.tcp.is_none());
        assert_eq!(g.heavy(), 2);
        for n in 3..8u32 {
            g.bury(u64::from(n), tomb(n, n + 1, false));
        }
        // At most four tombs: the oldest are gone.
        assert_eq!(g.len(), 4);
        assert!(g.exhume(1).is_none());
        assert!(g.exhume(7).is_some());
        // Burying a flow again replaces its tomb; the old queue entry cannot remove it.
        g.bury(5, tomb(5, 100, false));
        g.bury(8, tomb(8, 101, false));
        g.bury(9, tomb(9, 102, false));
        assert_eq!(g.exhume(5).map(|t| t.burial), Some(100));
    }

    /// The index against a map from keys, through random conversations: new ones (taking
    /// over their key's entry), removals (of the entry's own conversation or of one whose
    /// key a newer one took), lookups; enough of them to make the table grow and shrink.
    #[test]
    fn test_flow_index_matches_a_map() {
        let ip = |n: u8| std::net::IpAddr::from([10, 0, 0, n]);
        let keys: Vec<FlowKey> = (0..40u8)
            .map(|n| FlowKey::new(ip(n), 1000, ip(1), 80).0)
            .collect();
        let mut convs: Vec<Option<FlowKey>> = Vec::new();
        let mut index = FlowIndex::default();
        let mut model: FxHashMap<FlowKey, u32> = FxHashMap::default();
        let mut rng: u64 = 7;
        for step in 0..20_000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let key = keys[(rng % keys.len() as u64) as usize];
            let key_of =
                |convs: &Vec<Option<FlowKey>>, s: u32| convs.get(s as usize).copied().flatten();
            match rng >> 60 {
                0..=5 => {
                    convs.push(Some(key));
                    let slot = convs.len() as u32 - 1;
                    index.insert(key, slot, |s| key_of(&convs, s));
                    model.insert(key, slot);
                }
                6..=10 => {
                    // A conversation leaves: the first one still there with this key.
                    if let Some(slot) = convs.iter().position(|c| *c == Some(key)) {
                        let slot = slot as u32;
                        let holds = model.get(&key) == Some(&slot);
                        assert_eq!(index.holds(&key, slot), holds, "step {step}");
                        if holds {
                            index.remove(&key, slot);
                            model.remove(&key);
                        }
                        convs[slot as usize] = None;
                    }
                }
                _ => {}
            }
            assert_eq!(
                index.get(&key, |s| key_of(&convs, s)),
                model.get(&key).copied(),
                "step {step}"
            );
        }
    }

    #[test]
    fn test_take_middle_and_ends() {
        let mut t = Table::new();
        let s: Vec<u32> = (0..5)
            .map(|n| t.insert(udp(n), List::Udp, n as i128))
            .collect();
        t.take(s[2]);
        t.take(s[0]);
        t.take(s[4]);
        assert_eq!(t.front(List::Udp), Some((s[1], 1)));
        t.take(s[1]);
        assert_eq!(t.front(List::Udp), Some((s[3], 3)));
        t.take(s[3]);
        assert_eq!(t.front(List::Udp), None);
        assert!(t.is_empty());
    }
}

/// The graveyard as first written (a map of tombs beside burial-order queues, each flow's
/// tomb one lookup away): simple enough to be the model `Graveyard` must match, burial for
/// burial, on random sequences.
#[cfg(test)]
mod model {
    use super::*;
    use rustc_hash::FxHashMap;

    struct Model {
        tombs: FxHashMap<u64, Tomb>,
        /// Burial order of every tomb, and of the heavy ones; entries whose flow was buried
        /// again since (another burial number) are stale and skipped.
        order: VecDeque<(u32, u64)>,
        heavy_order: VecDeque<(u32, u64)>,
        heavy: usize,
        bound: usize,
        heavy_bound: usize,
    }

    impl Model {
        fn new(bound: usize, heavy_bound: usize) -> Self {
            Model {
                tombs: FxHashMap::default(),
                order: VecDeque::new(),
                heavy_order: VecDeque::new(),
                heavy: 0,
                bound: bound.max(1),
                heavy_bound,
            }
        }

        fn len(&self) -> usize {
            self.tombs.len()
        }

        fn heavy(&self) -> usize {
            self.heavy
        }

        fn exhume(&mut self, digest: u64) -> Option<Tomb> {
            let t = self.tombs.remove(&digest)?;
            if t.tcp.is_some() {
                self.heavy -= 1;
            }
            Some(t)
        }

        fn bury(&mut self, digest: u64, tomb: Tomb) {
            let burial = tomb.burial;
            if tomb.tcp.is_some() {
                self.heavy += 1;
                self.heavy_order.push_back((burial, digest));
            }
            if let Some(old) = self.tombs.insert(digest, tomb)
                && old.tcp.is_some()
            {
                self.heavy -= 1;
            }
            self.order.push_back((burial, digest));
            while self.heavy > self.heavy_bound {
                let Some((b, k)) = self.heavy_order.pop_front() else {
                    break;
                };
                if let Some(t) = self.tombs.get_mut(&k)
                    && t.burial == b
                    && t.tcp.take().is_some()
                {
                    self.heavy -= 1;
                }
            }
            while self.tombs.len() > self.bound {
                let Some((b, k)) = self.order.pop_front() else {
                    break;
                };
                if self.tombs.get(&k).is_some_and(|t| t.burial == b) {
                    self.exhume(k);
                }
            }
            // Stale entries are dropped once they outnumber the live ones.
            let tombs = &self.tombs;
            let live = |&(b, k): &(u32, u64)| tombs.get(&k).is_some_and(|t| t.burial == b);
            if self.order.len() > self.bound * 2 {
                self.order.retain(live);
            }
            if self.heavy_order.len() > self.heavy_bound * 2 + 16 {
                self.heavy_order
                    .retain(|e| live(e) && tombs.get(&e.1).is_some_and(|t| t.tcp.is_some()));
            }
        }
    }

    #[test]
    fn test_graveyard_matches_its_model() {
        let mut rng: u64 = 12345;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for round in 0..200 {
            let bound = 1 + (next() % 50) as usize;
            let hb = (next() % 20) as usize;
            let mut a = Model::new(bound, hb);
            let mut b = Graveyard::new(bound, hb);
            let keys = 1 + next() % 120;
            let mut burial = 0u32;
            for step in 0..5000 {
                let k = next() % keys;
                if next() % 3 == 0 {
                    let x = a.exhume(k).map(|t| (t.stream, t.burial, t.tcp.is_some()));
                    let y = b.exhume(k).map(|t| (t.stream, t.burial, t.tcp.is_some()));
                    assert_eq!(x, y, "round {round} step {step} exhume {k}");
                } else {
                    burial += 1;
                    let heavy = next() % 2 == 0;
                    let t = |burial| super::tests::tomb(k as u32, burial, heavy);
                    a.bury(k, t(burial));
                    b.bury(k, t(burial));
                }
                assert_eq!(
                    (a.len(), a.heavy()),
                    (b.len(), b.heavy()),
                    "round {round} step {step}"
                );
            }
        }
    }
}
