package vsr

import (
	"encoding/binary"
	"io"
)

// DataFileFormat is what every superblock copy records of the options its
// data file was formatted with, so that an environment can tell an
// operator which of their settings differ from the file's before it opens
// a replica on it.
type DataFileFormat struct {
	Layout            uint8 // DataFileLayout of the build that formatted it
	Cluster           U128
	Replica           uint8
	ReplicaCount      uint8
	JournalSlots      int
	MessageSizeMax    uint32
	ClientsMax        int
	CheckpointSizeMax uint64
}

// DecodeDataFileFormat reads the format fields of one superblock copy (a
// sector at the start of a data file). It fails for a sector that is not a
// valid copy: blank, torn or corrupt.
func DecodeDataFileFormat(sector []byte) (DataFileFormat, error) {
	if len(sector) != SectorSize || getU128(sector[0:]) != Checksum(sector[16:]) ||
		string(sector[16:24]) != superblockMagic {
		return DataFileFormat{}, errNotSuperblock
	}
	le := binary.LittleEndian
	f := DataFileFormat{Layout: sector[42], Cluster: getU128(sector[24:]), Replica: sector[40], ReplicaCount: sector[41],
		JournalSlots: int(le.Uint32(sector[44:])), MessageSizeMax: le.Uint32(sector[48:]),
		ClientsMax: int(le.Uint32(sector[52:])), CheckpointSizeMax: le.Uint64(sector[56:])}
	assert(f.JournalSlots >= 0, "a u32 count of slots is not negative")
	assert(f.ClientsMax >= 0, "a u32 count of clients is not negative")
	return f, nil
}

// ReadDataFileFormat reads the format of the data file r from its first
// superblock copy that reads and decodes; ok is false if none does (the
// open then judges the file).
func ReadDataFileFormat(r io.ReaderAt) (f DataFileFormat, ok bool) {
	sector := make([]byte, SectorSize)
	for copyIndex := range SuperblockCopies {
		offset := int64(copyIndex * SectorSize)
		assert(offset >= 0 && offset+SectorSize <= SuperblockCopies*SectorSize, "a superblock copy lies in the superblock zone")
		if _, err := r.ReadAt(sector, offset); err != nil {
			continue
		}
		if f, err := DecodeDataFileFormat(sector); err == nil {
			return f, true
		}
	}
	return DataFileFormat{}, false
}

// Format returns the format a data file for o records.
func (o Options) Format() DataFileFormat {
	o = o.withDefaults()
	f := DataFileFormat{Layout: DataFileLayout, Cluster: o.Cluster, Replica: o.Replica, ReplicaCount: o.ReplicaCount,
		JournalSlots: o.JournalSlots, MessageSizeMax: o.MessageSizeMax, ClientsMax: o.ClientsMax,
		CheckpointSizeMax: o.CheckpointSizeMax}
	assert(f.JournalSlots > 0, "options with defaults have journal slots")
	assert(f.ClientsMax > 0, "options with defaults have client sessions")
	return f
}
