/// A static trie over UTF-8 byte strings, built once from a vocabulary, for the prefix searches the
/// Unigram lattice and WordPiece's longest match need. Nodes are laid out breadth-first with each
/// node's children contiguous and sorted by byte, so a lookup is a short search in a flat array and
/// no per-node allocation exists.
struct ByteTrie: Sendable {
    /// Child range of node `i` is `firstChild[i] ..< firstChild[i] + childCount[i]`.
    private var firstChild: [Int32] = []
    private var childCount: [UInt16] = []
    /// The byte on the edge into node `i`.
    private var label: [UInt8] = []
    /// Key id ending at node `i`, or -1.
    private var value: [Int32] = []
    /// Child of the root for each first byte (-1 when absent): most keys differ in their first byte.
    private var rootChild = [Int32](repeating: -1, count: 256)

    static let root: Int32 = 0

    /// Builds the trie of `keys[i]` → `i` for keys given as ranges of `storage`.
    /// Empty keys are skipped; when a key occurs twice the larger id wins (as a dictionary filled
    /// in id order would keep it).
    init(storage: [UInt8], offsets: [Int]) {
        let n = offsets.count - 1
        var order = (0..<n).filter { offsets[$0 + 1] > offsets[$0] }
        storage.withUnsafeBufferPointer { s in
            order.sort { a, b in
                let la = offsets[a + 1] - offsets[a], lb = offsets[b + 1] - offsets[b]
                let c = memcmpBytes(s.baseAddress! + offsets[a], s.baseAddress! + offsets[b], min(la, lb))
                if c != 0 { return c < 0 }
                if la != lb { return la < lb }
                return a < b
            }
        }
        firstChild.reserveCapacity(storage.count / 2)
        // Breadth-first: each queue entry is a node covering sorted keys [lo, hi) sharing `depth` bytes.
        firstChild.append(0); childCount.append(0); label.append(0); value.append(-1)
        var queue: [(node: Int32, lo: Int, hi: Int, depth: Int)] = [(0, 0, order.count, 0)]
        var head = 0
        while head < queue.count {
            let (node, lo0, hi, depth) = queue[head]
            head += 1
            var lo = lo0
            // Keys exactly `depth` long end here and sort first; the last one has the largest id.
            while lo < hi, offsets[order[lo] + 1] - offsets[order[lo]] == depth {
                value[Int(node)] = Int32(order[lo])
                lo += 1
            }
            let first = Int32(label.count)
            var count = 0
            var i = lo
            while i < hi {
                let byte = storage[offsets[order[i]] + depth]
                var j = i + 1
                while j < hi, storage[offsets[order[j]] + depth] == byte { j += 1 }
                let child = Int32(label.count)
                firstChild.append(0); childCount.append(0); label.append(byte); value.append(-1)
                queue.append((child, i, j, depth + 1))
                count += 1
                i = j
            }
            firstChild[Int(node)] = first
            childCount[Int(node)] = UInt16(count)
            if node == 0 {
                for c in 0..<count { rootChild[Int(label[Int(first) + c])] = first + Int32(c) }
            }
        }
    }

    /// The child of `node` along `byte`, or -1.
    @inline(__always)
    func child(_ node: Int32, _ byte: UInt8) -> Int32 {
        if node == 0 { return rootChild[Int(byte)] }
        var lo = Int(firstChild[Int(node)])
        var hi = lo + Int(childCount[Int(node)])
        while lo < hi {
            let mid = (lo + hi) >> 1
            let b = label[mid]
            if b == byte { return Int32(mid) }
            if b < byte { lo = mid + 1 } else { hi = mid }
        }
        return -1
    }

    /// The key id ending at `node`, or -1.
    @inline(__always)
    func valueAt(_ node: Int32) -> Int32 { value[Int(node)] }

}

@inline(__always)
private func memcmpBytes(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Int {
    var i = 0
    while i < n {
        if a[i] != b[i] { return Int(a[i]) - Int(b[i]) }
        i += 1
    }
    return 0
}
