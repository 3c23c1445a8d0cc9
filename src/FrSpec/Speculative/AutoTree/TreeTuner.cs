using FrSpec.Generation;
using FrSpec.Model;

namespace FrSpec.Speculative.AutoTree;

/// <summary>
/// The automatic tree of one session: it gets the measured costs (once per model and machine), keeps the session's
/// acceptance statistics, and chooses a plan at the start of every generation and every
/// <see cref="AutoTreeOptions.ReplanEvery"/> rounds, configuring the drafter accordingly. Re-planning changes only which
/// tree is drafted, never how it is verified, so output stays exact whatever is chosen.
/// </summary>
internal sealed class TreeTuner
{
    private readonly ITunableDrafter _drafter;
    private readonly Func<ITunableDrafter, CostProfile> _costSource;
    private readonly AutoTreeOptions _options;
    private readonly AcceptanceMemory? _memory;
    private TreePlanner? _planner;
    private bool _recalled;
    private int _roundsRemembered;
    private PlanChoice _choice;
    private bool _hasChoice, _speculative = true; // the plan in force is _choice, drafted when _speculative
    private int _roundsSincePlan;
    private int _plainRun, _probeInterval; // plain tokens since speculation stopped (or the last look), and the next look's distance

    /// <param name="drafter">The session's drafter, built for <see cref="AutoTreeOptions.Bounds"/>.</param>
    /// <param name="costSource">Measures or recalls the cost profile for this drafter's model, head and variants.</param>
    /// <param name="options">Bounds, re-planning interval and cost cache of the automatic tree.</param>
    /// <param name="members">Token ids of each variant's draft vocabulary (null = full), in the drafter's variant order.</param>
    /// <param name="vocabSize">The target's vocabulary size.</param>
    /// <param name="memory">Where the acceptance of earlier sessions of this model and drafter is kept (null: start cold, keep nothing); its dimensions must be <see cref="StatisticsShape"/>'s.</param>
    public TreeTuner(ITunableDrafter drafter, Func<ITunableDrafter, CostProfile> costSource, AutoTreeOptions options,
        IReadOnlyList<IReadOnlyList<int>?> members, int vocabSize, AcceptanceMemory? memory = null)
    {
        options.Validate();
        if (members.Count != drafter.VariantSizes.Count) throw new ArgumentException("one vocabulary per drafter variant");
        _drafter = drafter; _costSource = costSource; _options = options; _memory = memory;
        var bounds = drafter.Bounds;
        var (depths, ranks) = StatisticsShape(bounds);
        Statistics = new AcceptanceStatistics(members, vocabSize, depths, ranks, options.Decay);
        if (memory != null && (memory.Variants != members.Count || memory.Depths != depths || memory.Ranks != Statistics.Ranks))
            throw new ArgumentException("the acceptance memory has other dimensions than this tuner's statistics");
    }

    public AcceptanceStatistics Statistics { get; }

    /// <summary>Plain tokens between two calls of <see cref="AfterPlain"/> (the decoder's batch for the drafter).</summary>
    public int ProbeAfter => _options.ProbeAfter;

    /// <summary>Depth levels and ranks of the acceptance statistics kept for trees within <paramref name="bounds"/>.</summary>
    public static (int Depths, int Ranks) StatisticsShape(TreeOptions bounds) => (bounds.Depth + 1, Math.Min(bounds.TopK, DraftTree.MaxCandidates));

    /// <summary>Plans made so far that differed from the one before (for reports).</summary>
    public int Changes { get; private set; }

    /// <summary>Variant index of the plan in force.</summary>
    public int CurrentVariant => _choice.Variant;

    /// <summary>
    /// Start of a generation: makes sure the costs are known (measured on first use; this runs draft steps, so call it
    /// before the drafter's Begin), counts the prompt towards vocabulary coverage, and plans. Returns whether to draft.
    /// </summary>
    public bool BeginGeneration(ReadOnlySpan<int> prompt)
    {
        if (_planner == null)
        {
            var costs = _costSource(_drafter);
            _planner = new TreePlanner(costs, _drafter.Bounds, _drafter.VariantSizes, Statistics.Depths, Statistics.Ranks);
        }
        if (!_recalled)
        {
            // the first generation starts from what earlier sessions of this model and drafter learned, if any
            _recalled = true;
            if (_memory?.Recall() is { } learned) Statistics.Seed(learned, _options.WarmStartRounds);
        }
        Statistics.ObserveText(prompt);
        _hasChoice = false;
        _plainRun = 0;
        _probeInterval = _options.ProbeAfter;
        return Replan();
    }

    /// <summary>
    /// Whether the plan in force, if it is plain decoding, is close enough to a tree that looking again later may pay
    /// (<see cref="AutoTreeOptions.ProbeMargin"/>); the decoder keeps its drafter following the text only then.
    /// </summary>
    public bool MayResume => _speculative || _choice.Rate >= _options.ProbeMargin * _choice.PlainRate;

    /// <summary>
    /// After <paramref name="steps"/> more plain tokens: ages the statistics as that many rounds would, and once the plain
    /// run reaches the probe interval, looks again (and doubles the interval): speculation resumes if the aged statistics
    /// now favour a tree, or for a few rounds (a probe) if the best tree is close (<see cref="MayResume"/>). Returns whether to draft.
    /// </summary>
    public bool AfterPlain(int steps)
    {
        Statistics.Age(steps);
        _plainRun += steps;
        if (_plainRun < _probeInterval) return false;
        _plainRun = 0;
        _probeInterval = Math.Min(2 * _probeInterval, AutoTreeOptions.MaxProbeAfter); // each look costs: fewer as the generation stays plain
        if (Replan()) return true;
        if (!MayResume) return false;
        Changes++;
        _speculative = true; // the drafter already has the best tree; the re-plan after the probe's rounds decides
        return true;
    }

    /// <summary>
    /// End of a generation that decoded <paramref name="plainSteps"/> tokens plainly (not yet passed to <see cref="AfterPlain"/>): those age the statistics as rounds
    /// would, since plain decoding teaches nothing about acceptance and the text may have changed meanwhile (after a few
    /// dozen plain tokens the next generation plans from the prior again, and tries a tree). Then leaves what this session
    /// has learned for the sessions that start later.
    /// </summary>
    public void EndGeneration(int plainSteps)
    {
        Statistics.Age(plainSteps);
        if (_memory == null || Statistics.Rounds == _roundsRemembered) return;
        _roundsRemembered = Statistics.Rounds;
        _memory.Remember(Statistics.Snapshot(_memory.Key));
    }

    /// <summary>After a verified round (drafted with the current plan): learns from it, and re-plans when due. Returns whether to go on drafting.</summary>
    public bool AfterRound(DraftTree tree, ReadOnlySpan<int> path, int bonus)
    {
        Statistics.ObserveRound(CurrentVariant, tree, path, bonus);
        return ++_roundsSincePlan >= _options.ReplanEvery ? Replan() : _speculative;
    }

    /// <summary>
    /// The plan in force with the predictions of the latest statistics (for the generation's result; the only place a
    /// <see cref="TreePlan"/> is built, so that re-planning in the decode loop allocates nothing).
    /// </summary>
    public TreePlan Report()
    {
        if (_planner == null)
        {
            var bounds = _drafter.Bounds;
            return new TreePlan { Depth = bounds.Depth, TopK = bounds.TopK, TotalTokens = bounds.TotalTokens, DraftVocabularySize = _drafter.VariantSizes[0], Auto = true, WarmStart = Statistics.WarmStart };
        }
        return _planner.Describe(_choice, _speculative) with { WarmStart = Statistics.WarmStart };
    }

    private bool Replan()
    {
        _roundsSincePlan = 0;
        var choice = _planner!.Plan(Statistics);
        // until the session has measured acceptance, speculate with the best tree even if the priors say plain wins
        bool speculate = choice.BeatsPlain || Statistics.Rounds < _options.ExplorationRounds;
        if (!_hasChoice || !choice.SameTree(_choice) || speculate != _speculative)
        {
            if (_hasChoice) Changes++;
            _speculative = speculate;
            _drafter.Configure(choice.Depth, choice.TopK, choice.Tokens, choice.Variant);
        }
        _choice = choice;
        _hasChoice = true;
        return _speculative;
    }
}
