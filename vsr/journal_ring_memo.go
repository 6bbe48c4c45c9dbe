package vsr

// headerSectorMemo records what Replica.headerSectorBuf holds, so that a
// ring write re-encodes only the headers that changed since the buffer
// last held the same sector: most ring writes follow one prepare's write
// each, to the sector the one before wrote, and re-encoding all 16
// headers every time was a measurable part of a simulated run. A header
// is known by its checksum, as installHeader knows it (the checksum covers
// every other field). A position holding anything else (zeros, a faulty
// slot's raw copy) is zero in held: it is written again every time.
//
// The buffer is the replica's alone: Storage.Write copies data before it
// returns, so nothing else reads or changes it between ring writes.
type headerSectorMemo struct {
	sector uint64 // the sector the buffer holds, plus one; 0: none yet
	held   [headersPerSector]U128
}
