package main

import (
	"fmt"

	"github.com/govsr/govsr/vopr"
)

// chaosOptionRows are the options table's rows for the chaos kinds.
func chaosOptionRows(o *vopr.Options) [][]any {
	var rows [][]any
	for _, r := range o.Chaos.Rows() {
		rows = append(rows, []any{r[0], r[1]})
	}
	return rows
}

// chaosResultRows are the result table's rows for what the chaos kinds
// did, and the view changes over divergent logs.
func chaosResultRows(st *vopr.ChaosStats) [][]any {
	return [][]any{
		{"view changes: differing / divergent logs", fmt.Sprintf("%d: %d / %d", st.ViewChanges,
			st.ViewChangesDiffering, st.ViewChangesDivergent)},
		{"client link cuts / clients on a minority side", fmt.Sprintf("%d / %d", st.ClientCuts, st.ClientSides)},
		{"long delays / delivered late / old registers / old requests", fmt.Sprintf("%d / %d / %d / %d",
			st.LongDelays, st.LateDeliveries, st.LateOldRegisters, st.LateOldRequests)},
		{"targeted at prepare / view change / repair", fmt.Sprintf("%d / %d / %d (crashes %d, isolations %d, copies cut %d)",
			st.TargetPrepare, st.TargetViewChange, st.TargetRepair, st.TargetCrashes, st.TargetIsolations, st.AimedCuts)},
		{"crashes in window: journal / superblock write, prepare_ok / view change sent", fmt.Sprintf("%d / %d, %d / %d",
			st.CrashJournalWrite, st.CrashSuperblockWrite, st.CrashPrepareOk, st.CrashViewChangeSent)},
		{"crash groups / whole cluster", fmt.Sprintf("%d / %d", st.CrashGroups, st.CrashWholeCluster)},
		{"client sessions replayed after eviction", st.ClientReplays},
		{"churn episodes / isolations", fmt.Sprintf("%d / %d", st.ChurnEpisodes, st.ChurnIsolations)},
		{"stale-tails episodes / oldest tail back to lead", fmt.Sprintf("%d / %d", st.TailsEpisodes, st.TailsReturns)},
		{"state transfer chunks / largest checkpoint", fmt.Sprintf("%d / %d bytes", st.CheckpointChunks, st.CheckpointBytesMax)},
		{"backlog pauses / beyond journal / crashes after", fmt.Sprintf("%d / %d / %d", st.BacklogPauses,
			st.BacklogBeyondJournal, st.BacklogCrashes)},
	}
}

// chaosTally sums, seed by seed, the swarm's chaos counts that matter
// most: how many seeds saw each kind act, and the view changes over
// divergent logs. (A swarm keeps tallies, not its results: an overnight run
// has hundreds of thousands.)
type chaosTally struct {
	ViewChanges          uint64 `json:"view_changes"`
	ViewChangesDiffering uint64 `json:"view_changes_differing_logs"`
	ViewChangesDivergent uint64 `json:"view_changes_divergent_logs"`
	SeedsDivergent       uint64 `json:"seeds_with_divergent_view_change"`
	SeedsLateRegister    uint64 `json:"seeds_with_late_old_register"`
	SeedsBeyondJournal   uint64 `json:"seeds_with_backlog_beyond_journal_then_crash"`
	SeedsClientReplay    uint64 `json:"seeds_with_client_replay"`
}

func (c *chaosTally) add(st *vopr.ChaosStats) {
	c.ViewChanges += st.ViewChanges
	c.ViewChangesDiffering += st.ViewChangesDiffering
	c.ViewChangesDivergent += st.ViewChangesDivergent
	if st.ViewChangesDivergent > 0 {
		c.SeedsDivergent++
	}
	if st.LateOldRegisters > 0 {
		c.SeedsLateRegister++
	}
	if st.ClientReplays > 0 {
		c.SeedsClientReplay++
	}
	if st.BacklogBeyondJournal > 0 && st.BacklogCrashes > 0 {
		c.SeedsBeyondJournal++
	}
}

func (c *chaosTally) rows() [][]any {
	return [][]any{
		{"view changes: differing / divergent logs", fmt.Sprintf("%d: %d / %d", c.ViewChanges,
			c.ViewChangesDiffering, c.ViewChangesDivergent)},
		{"seeds with a view change over divergent logs", c.SeedsDivergent},
		{"seeds with a late old register", c.SeedsLateRegister},
		{"seeds with a backlog beyond the journal, then a crash", c.SeedsBeyondJournal},
		{"seeds with a client session replayed after eviction", c.SeedsClientReplay},
	}
}
