package payload

import "iter"

// NodeKind is the JSON type of a Node.
type NodeKind uint8

// Node kinds.
const (
	NodeNull   = NodeKind(kindNull)
	NodeFalse  = NodeKind(kindFalse)
	NodeTrue   = NodeKind(kindTrue)
	NodeNumber = NodeKind(kindNumber)
	NodeString = NodeKind(kindString)
	NodeArray  = NodeKind(kindArray)
	NodeObject = NodeKind(kindObject)
)

// Node is one value of a parsed body, valid while the Codec call that
// received it runs.
type Node struct {
	d *doc
	i uint32
}

// doc is a parsed body and the scratch memory its strings unescape into.
// For a binary tensor body, t holds the JSON header and bin the tail.
type doc struct {
	t       tape
	scratch []byte
	leaves  []uint32
	binary  bool
	bin     []byte
	spans   []binSpan // of the tensors in order, when binary
}

func (d *doc) reset() {
	d.scratch = d.scratch[:0]
	d.leaves = d.leaves[:0]
}

func (d *doc) root() Node { return Node{d: d} }

// Kind returns the JSON type of n.
func (n Node) Kind() NodeKind { return NodeKind(n.d.t.nodes[n.i].kind) }

// Len returns the number of elements of an array or fields of an object.
func (n Node) Len() int {
	if k := n.Kind(); k != NodeArray && k != NodeObject {
		return 0
	}
	return int(n.d.t.nodes[n.i].n)
}

// Field returns the value of key in object n.
func (n Node) Field(key string) (Node, bool) {
	v, ok := n.d.t.field(n.i, key, nil, &n.d.scratch)
	return Node{n.d, v}, ok
}

// Index returns element i of array n.
func (n Node) Index(i int) (Node, bool) {
	v, ok := n.d.t.index(n.i, i)
	return Node{n.d, v}, ok
}

// Elems iterates over the elements of array n.
func (n Node) Elems() iter.Seq2[int, Node] {
	return func(yield func(int, Node) bool) {
		if n.Kind() != NodeArray {
			return
		}
		e := n.i + 1
		for i := range n.Len() {
			if !yield(i, Node{n.d, e}) {
				return
			}
			e = n.d.t.nodes[e].next
		}
	}
}

// Text returns the unescaped content of a string, or the token of a
// number, true or false.
func (n Node) Text() []byte {
	if n.Kind() == NodeString {
		return n.d.t.str(n.i, &n.d.scratch)
	}
	return n.d.t.raw(n.i)
}
