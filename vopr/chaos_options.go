package vopr

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
	"github.com/govsr/govsr/vsr/kv"
)

// ChaosOptions are the fault kinds that close the simulator's blind spots
// (issue 8): client links that partition and clog, messages held for
// seconds to minutes, faults aimed at the primary and at the windows a
// crash must hit, correlated crashes, view churn, big state and high load.
// Each kind is drawn on or off per seed, like the older kinds. The zero
// value (a seed report written before these kinds existed) turns them all
// off, and then the simulator makes no draw and schedules no event for
// them: old reports replay exactly.
type ChaosOptions struct {
	// Client links ("client-links"): per step and per client, a cut of its
	// links to some replicas (or all) that heals after exp(ClientCutNsMean);
	// replica partitions put each client on a side too.
	ClientCut       faults.Ratio `json:"client_cut"`
	ClientCutNsMean uint64       `json:"client_cut_ns_mean"`

	// Long delays ("long-delay"): a message between replicas (LongDelay;
	// LongDelayViewChange for start_view_change, do_view_change and
	// start_view), or a client's request or register (LongDelayRequest),
	// is held for LongDelayNsMin + exp(LongDelayNsMean) and then
	// delivered. At most a quarter of a link's capacity is held at once.
	LongDelay           faults.Ratio `json:"long_delay"`
	LongDelayViewChange faults.Ratio `json:"long_delay_view_change"`
	LongDelayRequest    faults.Ratio `json:"long_delay_request"`
	LongDelayNsMin      uint64       `json:"long_delay_ns_min"`
	LongDelayNsMean     uint64       `json:"long_delay_ns_mean"`

	// Targeted faults ("target"), aimed by watching the wire: a primary
	// right after it makes a prepare (the prepare reaching only some
	// backups), a new primary right after its start_view (the same), a
	// replica right after its do_view_change, the primary while a backup
	// asks for repairs. Each is a crash (TargetCrash of them) or an
	// isolation for exp(TargetIsolateNsMean); after one, none for
	// exp(TargetGapNsMean).
	TargetPrepare       faults.Ratio `json:"target_prepare"`     // per prepare a primary makes
	TargetViewChange    faults.Ratio `json:"target_view_change"` // per start_view or do_view_change sent
	TargetRepair        faults.Ratio `json:"target_repair"`      // per repair request a backup sends
	TargetCrash         faults.Ratio `json:"target_crash"`
	TargetIsolateNsMean uint64       `json:"target_isolate_ns_mean"`
	TargetGapNsMean     uint64       `json:"target_gap_ns_mean"`

	// Crash windows ("crash-window"): a crash while a write is in flight
	// (CrashJournalWrite per prepare or headers-ring write,
	// CrashSuperblockWrite per superblock write), or right after a message
	// that depends on one (CrashPrepareOk per prepare_ok,
	// CrashViewChangeSent per do_view_change or start_view).
	CrashJournalWrite    faults.Ratio `json:"crash_journal_write"`
	CrashSuperblockWrite faults.Ratio `json:"crash_superblock_write"`
	CrashPrepareOk       faults.Ratio `json:"crash_prepare_ok"`
	CrashViewChangeSent  faults.Ratio `json:"crash_view_change_sent"`

	// Correlated crashes ("crash-group"): per step, several replicas crash
	// at once (CrashGroupAll of them: every replica), each restarting after
	// its own exp(restart mean). CrashGroupAimed of the crashes the
	// targeted and crash-window kinds aim take others down in the same
	// instant, so the aimed window is where the whole group stops.
	CrashGroup      faults.Ratio `json:"crash_group"`
	CrashGroupAll   faults.Ratio `json:"crash_group_all"`
	CrashGroupAimed faults.Ratio `json:"crash_group_aimed"`

	// View churn ("churn"): per step, an episode starts: the primary is
	// isolated, then each new primary right after its start_view (which
	// reaches only some backups) while the previous one comes back,
	// ChurnViews times, so that a replica holding an old view's tail votes
	// in the next view change before it caught up.
	Churn              faults.Ratio `json:"churn"`
	ChurnViews         int          `json:"churn_views"`
	ChurnIsolateNsMean uint64       `json:"churn_isolate_ns_mean"`
	// Partition restart ("partition-restart", vopr/chaos_partition.go):
	// per partition leaving the primary beside a replica, away from a
	// view-change quorum, the chance that replica reboots at once.
	PartitionRestart       faults.Ratio `json:"partition_restart"`
	PartitionRestartNsMean uint64       `json:"partition_restart_ns_mean"`
	// Head loss ("head-loss", vopr/chaos_head_loss.go): per 100 ms, the
	// chance that the holders of the primary's next op lose power as it
	// commits, one of them losing the op's slot and returning first, after
	// exp(HeadLossNsMean).
	HeadLoss       faults.Ratio `json:"head_loss"`
	HeadLossNsMean uint64       `json:"head_loss_ns_mean"`
	// Client replay ("client-replay", vopr/chaos_replay.go): per session
	// the primary evicts, the chance that the client drops off and the
	// network replays its register, then after exp(ClientReplayNsMean) its
	// requests of that session.
	ClientReplay       faults.Ratio `json:"client_replay"`
	ClientReplayNsMean uint64       `json:"client_replay_ns_mean"`
	// Stale tails ("stale-tails", vopr/chaos_tails.go): per step, the
	// chance an episode starts.
	Tails faults.Ratio `json:"stale_tails"`
	// Stale prepares ("stale-prepares", vopr/chaos_stale_prepares.go): per
	// 100 ms, the chance that late copies of older views' prepares reach a
	// replica where its log lacks them, exp(StalePreparesNsMean) apart.
	StalePrepares       faults.Ratio `json:"stale_prepares"`
	StalePreparesNsMean uint64       `json:"stale_prepares_ns_mean"`
	// Near transfer ("near-transfer", vopr/chaos_near_transfer.go): per
	// 100 ms, the chance that a backup whose peers' checkpoints lie just
	// above its own loses an op to state transfer.
	NearTransfer faults.Ratio `json:"near_transfer"`

	// Small messages ("small-messages"): Options.MessageSizeMax is drawn
	// below 4 KiB, down to vsr.MessageSizeMin, and need not be a multiple
	// of anything: a do_view_change then carries only a few headers, and a
	// checkpoint takes many chunks. SmallMessages records that it was.
	SmallMessages bool `json:"small_messages"`

	// Big state ("big-state"): keys and values up to these sizes (zero:
	// the usual 16 and 64 bytes), so checkpoints span many state-transfer
	// chunks. Workload.Keys is raised with it.
	KeySizeMax   int `json:"key_size_max"`
	ValueSizeMax int `json:"value_size_max"`

	// Load ("load"): many clients with no think time and many requests
	// (Options.Clients, Workload.ThinkNsMean, RequestsMax are raised).
	Load bool `json:"load"`
	// Backlog ("backlog", with load): at BacklogAtNs a backup pauses until
	// the cluster committed BacklogOps ops past it (more than its journal
	// holds); BacklogCrashNs after it resumes, another backup crashes; it
	// restarts as soon as the resumed replica is primary, or after
	// BacklogRestartNs.
	// With BacklogQuiet, the network starts no new fault (loss,
	// duplication, corruption, partition, clog) while the scenario plays.
	Backlog          bool   `json:"backlog"`
	BacklogQuiet     bool   `json:"backlog_quiet"`
	BacklogAtNs      uint64 `json:"backlog_at_ns"`
	BacklogOps       int    `json:"backlog_ops"`
	BacklogCrashNs   uint64 `json:"backlog_crash_ns"`
	BacklogRestartNs uint64 `json:"backlog_restart_ns"`
}

// chaosKinds are the fault kinds of ChaosOptions, appended to FaultKinds.
var chaosKinds = []string{"client-links", "long-delay", "target", "crash-window", "crash-group", "churn",
	"small-messages", "big-state", "load", "backlog", partitionRestartKind,
	headLossKind, clientReplayKind, tailsKind, stalePreparesKind, nearTransferKind}

// chaosOnPercent is how often the swarm turns each chaos kind on. Below
// the older kinds' 60%: nine more kinds all at 60% would leave few seeds
// with only a handful of faults, and leaving faults out finds bugs too.
var chaosOnPercent = map[string]uint32{
	"client-links": 40, "long-delay": 40, "target": 40, "crash-window": 40, "crash-group": 25, "churn": 30,
	"small-messages": 20, "big-state": 30, "load": 25, "backlog": 50, // backlog: of the seeds with load
}

// drawChaos draws the chaos kinds of seed into o, from a stream of their
// own, so the older options' draws stay what they were. Like Draw, it
// makes every draw whether or not the kind is on. A kind that is on may
// raise older options (clients, keys, requests, think time, sessions).
func drawChaos(seed uint64, force Force, o *Options) {
	p := faults.New(seed).Stream("options/chaos")
	on := func(kind string) bool {
		drawn := p.Chance(faults.Percent(chaosOnPercent[kind]))
		if forced, ok := force[kind]; ok {
			return forced
		}
		return drawn
	}
	rate := func(on bool, lo, hi faults.Ratio) faults.Ratio {
		r := p.RatioBetween(lo, hi)
		if !on {
			return faults.Never
		}
		return r
	}
	c := &o.Chaos
	drawLoad(p, on, o)
	clientLinks := on("client-links")
	c.ClientCut = rate(clientLinks, faults.PerMillion(2_000), faults.PerMillion(30_000))
	c.ClientCutNsMean = p.Range(200_000_000, 5_000_000_000)
	drawLongDelay(p, on, rate, o)
	target := on("target")
	c.TargetPrepare = rate(target, faults.PerMillion(5_000), faults.PerMillion(100_000))
	c.TargetViewChange = rate(target, faults.Percent(10), faults.Percent(60))
	c.TargetRepair = rate(target, faults.PerMillion(5_000), faults.PerMillion(50_000))
	c.TargetCrash = rate(target, faults.Percent(20), faults.Percent(80))
	c.TargetIsolateNsMean = p.Range(200_000_000, 3_000_000_000)
	c.TargetGapNsMean = p.Range(2_000_000_000, 10_000_000_000)
	window := on("crash-window")
	c.CrashJournalWrite = rate(window, faults.PerMillion(50), faults.PerMillion(1_000))
	c.CrashSuperblockWrite = rate(window, faults.PerMillion(500), faults.PerMillion(5_000))
	c.CrashPrepareOk = rate(window, faults.PerMillion(50), faults.PerMillion(1_000))
	c.CrashViewChangeSent = rate(window, faults.PerMillion(10_000), faults.PerMillion(100_000))
	group := on("crash-group")
	c.CrashGroup = rate(group && o.Replicas > 1, faults.PerMillion(300), faults.PerMillion(3_000))
	c.CrashGroupAll = rate(group && o.Replicas > 1, faults.Percent(10), faults.Percent(50))
	c.CrashGroupAimed = rate(group && o.Replicas > 1, faults.Percent(10), faults.Percent(50))
	churn := on("churn")
	c.Churn = rate(churn && o.Replicas > 2, faults.PerMillion(2_000), faults.PerMillion(20_000))
	c.ChurnViews = p.RangeInt(2, 5)
	c.ChurnIsolateNsMean = p.Range(300_000_000, 3_000_000_000)
	small := on("small-messages")
	size := uint32(p.Range(vsr.MessageSizeMin, 4<<10-1))
	if small {
		c.SmallMessages, o.MessageSizeMax = true, size
	}
	drawBigState(p, on, o)
}

// drawLoad: many clients, no think time, enough requests to keep them
// busy for a while; with it, perhaps the backlog scenario of finding 8.
func drawLoad(p *faults.PRNG, on func(string) bool, o *Options) {
	load, backlog := on("load"), on("backlog")
	clients := p.RangeInt(16, 64)
	requests := p.RangeInt(4_000, 8_000)
	thinkNs := p.Range(0, 1_000_000)
	atNs := p.Range(1_000_000_000, 20_000_000_000)
	extra := p.RangeInt(o.JournalSlots/4, 2*o.JournalSlots)
	crashNs := p.Range(0, 300_000_000)
	restartNs := p.Range(4_000_000_000, 12_000_000_000)
	three := p.Bool()
	quiet := p.Bool()
	c := &o.Chaos
	if !load {
		return
	}
	c.Load = true
	o.Clients = clients
	o.ClientsMax = max(o.ClientsMax, clients)
	o.RequestsMax = requests
	o.Workload.ThinkNsMean = thinkNs
	// A key per client and a mild skew: with no think time, a hot key
	// would make linearizability checking exponential.
	o.Workload.Keys = max(o.Workload.Keys, clients)
	o.Workload.KeySkew = min(o.Workload.KeySkew, 32)
	if backlog && three {
		o.Replicas = 3 // as where finding 8 was seen: one backup paused, the other crashes
	}
	if backlog && o.Replicas >= 3 {
		c.Backlog, c.BacklogAtNs, c.BacklogOps, c.BacklogCrashNs = true, atNs, o.JournalSlots+extra, crashNs
		c.BacklogRestartNs, c.BacklogQuiet = restartNs, quiet
	}
}

// drawLongDelay: messages held for seconds to minutes; with half of the
// seeds that have them, fewer sessions than clients, so that evictions and
// registrations happen while old requests and registers are in flight.
func drawLongDelay(p *faults.PRNG, on func(string) bool, rate func(bool, faults.Ratio, faults.Ratio) faults.Ratio, o *Options) {
	c := &o.Chaos
	long := on("long-delay")
	c.LongDelay = rate(long, faults.PerMillion(200), faults.PerMillion(5_000))
	c.LongDelayRequest = rate(long, faults.PerMillion(5_000), faults.PerMillion(50_000))
	c.LongDelayViewChange = rate(long, faults.PerMillion(10_000), faults.PerMillion(100_000))
	c.LongDelayNsMin = 1_000_000_000
	c.LongDelayNsMean = p.Range(2_000_000_000, 60_000_000_000)
	squeeze := p.Bool()
	clients := p.RangeInt(3, 16)
	sessions := p.Uint64()
	if !long || !squeeze {
		return
	}
	o.Clients = max(o.Clients, clients)
	// At least half as many sessions as clients: about half the clients
	// are without a session at any time, and the evicted clients' writes
	// (no reply, perhaps executed) stay few enough for the linearizability
	// search.
	half := max(2, o.Clients/2)
	o.ClientsMax = half + int(sessions%uint64(max(1, o.Clients-half)))
	if o.Chaos.Load {
		// Under load, a few sessions short: every eviction's unanswered
		// writes are ops the linearizability search must place anywhere.
		o.ClientsMax = o.Clients - 1 - int(sessions%uint64(max(1, o.Clients/8)))
	}
	// Evicted clients' committed writes have no reply: each may linearize
	// anywhere after its call. Spread over many cool keys, they keep the
	// linearizability search tractable.
	o.Workload.Keys = max(o.Workload.Keys, min(o.Clients, kvKeysMax))
	o.Workload.KeySkew = min(o.Workload.KeySkew, 32)
}

// drawBigState: more keys, longer keys and values, as large as a request
// carrying a compare-and-set's two values can hold.
func drawBigState(p *faults.PRNG, on func(string) bool, o *Options) {
	big := on("big-state")
	keys := p.RangeInt(64, kvKeysMax)
	keySize := p.RangeInt(16, 64)
	valueSize := p.Uint64()
	if !big {
		return
	}
	c := &o.Chaos
	c.KeySizeMax = keySize
	c.ValueSizeMax = 64 + int(valueSize%uint64(valueSizeLimit(o.MessageSizeMax, keySize)-64+1))
	o.Workload.Keys = max(o.Workload.Keys, keys)
}

// valueSizeLimit is the longest value a compare-and-set (key, two values)
// may carry in a request that fits a prepare, capped at 1 KiB.
func valueSizeLimit(messageSizeMax uint32, keySizeMax int) int {
	room := int(messageSizeMax) - 2*vsrHeaderSize - kvCASHeaderSize - keySizeMax
	return min(1024, room/2)
}

// validate checks the chaos options that an edited report could break.
func (c *ChaosOptions) validate(o *Options, check func(ok bool, format string, args ...any)) {
	for _, r := range c.ratios() {
		if err := r.ratio.Validate(); err != nil {
			check(false, "%s: %v", r.name, err)
		}
	}
	if c.KeySizeMax != 0 || c.ValueSizeMax != 0 {
		check(c.KeySizeMax >= 16 && c.KeySizeMax <= 64, "key size max %d outside [16, 64]", c.KeySizeMax)
		check(c.ValueSizeMax >= 64 && c.ValueSizeMax <= valueSizeLimit(o.MessageSizeMax, c.KeySizeMax),
			"value size max %d outside [64, %d]", c.ValueSizeMax, valueSizeLimit(o.MessageSizeMax, c.KeySizeMax))
	}
	check(!c.Backlog || (c.BacklogOps >= 1 && o.Replicas >= 3), "backlog needs ops %d >= 1 and 3 replicas or more",
		c.BacklogOps)
	check(c.ChurnViews >= 0 && c.ChurnViews <= 16, "churn views %d outside [0, 16]", c.ChurnViews)
}

type namedRatio struct {
	name  string
	ratio *faults.Ratio
}

func (c *ChaosOptions) ratios() []namedRatio {
	return []namedRatio{
		{"client cut", &c.ClientCut}, {"long delay", &c.LongDelay}, {"long delay request", &c.LongDelayRequest},
		{"long delay view change", &c.LongDelayViewChange},
		{"target prepare", &c.TargetPrepare}, {"target view change", &c.TargetViewChange},
		{"target repair", &c.TargetRepair}, {"target crash", &c.TargetCrash},
		{"crash journal write", &c.CrashJournalWrite}, {"crash superblock write", &c.CrashSuperblockWrite},
		{"crash prepare_ok", &c.CrashPrepareOk}, {"crash view change sent", &c.CrashViewChangeSent},
		{"crash group", &c.CrashGroup}, {"crash group all", &c.CrashGroupAll},
		{"crash group aimed", &c.CrashGroupAimed}, {"churn", &c.Churn},
		{"partition restart", &c.PartitionRestart}, {"head loss", &c.HeadLoss},
		{"client replay", &c.ClientReplay},
		{"stale tails", &c.Tails}, {"stale prepares", &c.StalePrepares}, {"near transfer", &c.NearTransfer},
	}
}

// absentRatiosNever: a report from before these kinds has no ratio for
// them (zero); they mean never.
func (c *ChaosOptions) absentRatiosNever() {
	for _, r := range c.ratios() {
		if *r.ratio == (faults.Ratio{}) {
			*r.ratio = faults.Never
		}
	}
}

// kindOn reports whether chaos kind k is on in o; ok is false for a kind
// that is not a chaos kind.
func (c *ChaosOptions) kindOn(k string) (on, ok bool) {
	live := func(rs ...faults.Ratio) bool {
		for _, r := range rs {
			if r.Num > 0 {
				return true
			}
		}
		return false
	}
	switch k {
	case "client-links":
		return live(c.ClientCut), true
	case "long-delay":
		return live(c.LongDelay, c.LongDelayRequest, c.LongDelayViewChange), true
	case "target":
		return live(c.TargetPrepare, c.TargetViewChange, c.TargetRepair), true
	case "crash-window":
		return live(c.CrashJournalWrite, c.CrashSuperblockWrite, c.CrashPrepareOk, c.CrashViewChangeSent), true
	case "crash-group":
		return live(c.CrashGroup), true
	case "churn":
		return live(c.Churn) && c.ChurnViews > 0, true
	case partitionRestartKind:
		return live(c.PartitionRestart), true
	case headLossKind:
		return live(c.HeadLoss), true
	case clientReplayKind:
		return live(c.ClientReplay), true
	case tailsKind:
		return live(c.Tails), true
	case stalePreparesKind:
		return live(c.StalePrepares), true
	case nearTransferKind:
		return live(c.NearTransfer), true
	case "small-messages":
		return c.SmallMessages, true
	case "big-state":
		return c.ValueSizeMax > 0, true
	case "load":
		return c.Load, true
	case "backlog":
		return c.Backlog, true
	}
	return false, false
}

// Rows describes the chaos options for the options table.
func (c *ChaosOptions) Rows() [][2]string {
	pct := func(r faults.Ratio) string {
		if r.Num == 0 {
			return "off"
		}
		return fmt.Sprintf("%.3g%%", 100*float64(r.Num)/float64(r.Den))
	}
	sec := func(ns uint64) string { return fmt.Sprintf("%.2f s", float64(ns)/1e9) }
	rows := [][2]string{
		{"client link cut per client per 100 ms", fmt.Sprintf("%s for exp(%s)", pct(c.ClientCut), sec(c.ClientCutNsMean))},
		{"long delay per message / view change message / request", fmt.Sprintf("%s / %s / %s for %s + exp(%s)",
			pct(c.LongDelay), pct(c.LongDelayViewChange), pct(c.LongDelayRequest), sec(c.LongDelayNsMin),
			sec(c.LongDelayNsMean))},
		{"target primary at prepare / view change / repair", fmt.Sprintf("%s / %s / %s: crash %s, else isolate exp(%s); gap exp(%s)",
			pct(c.TargetPrepare), pct(c.TargetViewChange), pct(c.TargetRepair), pct(c.TargetCrash),
			sec(c.TargetIsolateNsMean), sec(c.TargetGapNsMean))},
		{"crash in window: journal / superblock write, prepare_ok / view change sent", fmt.Sprintf("%s / %s, %s / %s",
			pct(c.CrashJournalWrite), pct(c.CrashSuperblockWrite), pct(c.CrashPrepareOk), pct(c.CrashViewChangeSent))},
		{"crash group per 100 ms", fmt.Sprintf("%s (whole cluster %s); of aimed crashes %s", pct(c.CrashGroup),
			pct(c.CrashGroupAll), pct(c.CrashGroupAimed))},
		{"view churn per 100 ms", fmt.Sprintf("%s: %d views, isolate exp(%s)", pct(c.Churn), c.ChurnViews, sec(c.ChurnIsolateNsMean))},
		{"small messages / big state: key / value size max", fmt.Sprintf("%v / %d / %d bytes", c.SmallMessages,
			c.KeySizeMax, c.ValueSizeMax)},
		{"load / backlog", fmt.Sprintf("%v / %v: pause at %s until %d ops behind, crash %s after, restart by %s; quiet network %v",
			c.Load, c.Backlog, sec(c.BacklogAtNs), c.BacklogOps, sec(c.BacklogCrashNs), sec(c.BacklogRestartNs), c.BacklogQuiet)},
		c.partitionRestartRow(pct, sec),
		c.headLossRow(pct, sec),
		c.clientReplayRow(pct, sec),
		c.tailsRow(pct),
		c.stalePreparesRow(pct, sec),
		c.nearTransferRow(pct),
	}
	return rows
}

// Sizes of the key-value store and its requests.
const (
	kvKeysMax       = 1024
	kvKeySizeMax    = 16 // without big state
	kvValueSizeMax  = 64 // without big state
	vsrHeaderSize   = vsr.HeaderSize
	kvCASHeaderSize = 2 + 4 + 4 // u16 key length, u32 from length, u32 to length (TestCASHeaderSize)
)

// kvOptions bounds the state machine of a run: big state raises key and
// value sizes, and with them the checkpoint size (replicaOptions).
func (o *Options) kvOptions() kv.Options {
	k := kv.Options{KeysMax: kvKeysMax, KeySizeMax: kvKeySizeMax, ValueSizeMax: kvValueSizeMax}
	if o.Chaos.ValueSizeMax > 0 {
		k.KeySizeMax, k.ValueSizeMax = o.Chaos.KeySizeMax, o.Chaos.ValueSizeMax
	}
	return k
}

// keyName is the workload's key number key; with big state, padded to a
// length of its own up to the key size max.
func (o *Options) keyName(key int) string {
	name := "k" + strconv.Itoa(key) // fmt.Sprintf("k%d"), without its cost per request
	return pad(name, o.Chaos.KeySizeMax)
}

// valueOf is the value client writes in its nth write: unique, so a read
// tells which write it saw; with big state, padded to a length of its own
// up to the value size max (a cas that expects it pads it alike).
func (o *Options) valueOf(client, n int) string {
	return pad("c"+strconv.Itoa(client)+"."+strconv.Itoa(n), o.Chaos.ValueSizeMax) // as "c%d.%d"
}

// pad extends s to a length between len(s) and sizeMax that depends on s
// alone (sizeMax zero: no padding).
func pad(s string, sizeMax int) string {
	if sizeMax <= len(s) {
		return s
	}
	var h uint64 = 14695981039346656037 // FNV-1a
	for i := range len(s) {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	n := len(s) + int(h%uint64(sizeMax-len(s)+1))
	return s + strings.Repeat("-", n-len(s))
}
