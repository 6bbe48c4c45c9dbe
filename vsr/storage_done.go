package vsr

// StorageDone is the completion of the I/O submitted with tag. For a read,
// its buffer has been filled (or err says why not).
func (r *Replica) StorageDone(tag uint64, err error) {
	r.storageDone(tag, err)
	r.assertInvariants()
}

func (r *Replica) storageDone(tag uint64, err error) {
	assert(r.openErr == nil, "no I/O completes after a failed open")
	index := tag & tagIndexMask
	switch tag >> tagKindShift {
	case tagSuperblock:
		r.super.writeDone(err)
	case tagPrepare:
		r.prepareWriteDone(index, err)
	case tagHeaders:
		r.headerSectorWriteDone(index, err)
	case tagCheckpoint:
		r.checkpointWriteDone(index, err)
	case tagReread:
		r.rereadDone(index, err)
	case tagReadSuper, tagReadHeaders, tagReadPrepare, tagReadCheckpoint:
		r.readDone(tag>>tagKindShift, index, err)
	default:
		panic("vsr: StorageDone with an unknown tag")
	}
}

// viewDurable reports whether the replica's view and log_view are on disk.
func (r *Replica) viewDurable() bool {
	assert(r.super.durable.view <= r.view, "the durable view is not ahead of the view")
	assert(r.super.durable.logView <= r.logView, "the durable log_view is not ahead of the log_view")
	return r.super.durable.view == r.view && r.super.durable.logView == r.logView
}
