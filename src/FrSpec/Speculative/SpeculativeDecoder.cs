using System.Diagnostics;
using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Speculative.AutoTree;

namespace FrSpec.Speculative;

/// <summary>
/// EAGLE-2 speculative decoding, optionally with an FR-Spec draft vocabulary. Each round the drafter proposes a
/// token tree rooted at the last target token; the target verifies the whole tree in one forward pass with a tree
/// attention mask; the accepted path plus one bonus token are emitted; the target cache keeps only the accepted path
/// and the drafter consumes the accepted (feature, next token) pairs. Greedy output equals the target's greedy
/// output; sampled output has exactly the target's distribution (docs/exactness.md).
/// With a <see cref="TreeTuner"/> (the automatic tree) the tree shape and draft vocabulary change between rounds, and
/// when no tree is expected to beat plain decoding the decoder decodes plainly; neither changes what is emitted.
/// </summary>
internal sealed class SpeculativeDecoder : IDecoder
{
    private readonly Transformer _target;
    private readonly ForwardState _state;
    private readonly IDrafter _drafter;
    private readonly TreeOptions _tree;
    private readonly TreeTuner? _tuner;
    private readonly TreePlan _fixedPlan;
    private readonly DraftTree _draft;
    private readonly TreeVerifier _verifier;
    private readonly AttentionMask _mask = new(0, 0, 0);
    private readonly float[] _logits, _features, _probs;
    private readonly NodeLogits _nodeLogits;
    private readonly int[] _positions, _path, _pairTokens;
    private readonly int[] _one = new int[1], _onePosition = new int[1];
    private KvCache? _cache;

    public string Name { get; }

    /// <summary>A decoder over <paramref name="target"/> drafting with <paramref name="drafter"/>; <paramref name="acceptance"/> is the
    /// sampled-acceptance rule, null = <see cref="ExactAcceptance"/> (tests inject wrong ones). With <paramref name="tuner"/>
    /// (which steers this drafter), <paramref name="tree"/> is the largest tree it may choose.</summary>
    internal SpeculativeDecoder(Transformer target, IDrafter drafter, TreeOptions tree, string name, ISampledAcceptance? acceptance = null,
        TreeTuner? tuner = null, int draftVocabularySize = 0)
    {
        tree.Validate();
        _target = target; _drafter = drafter; _tree = tree; Name = name; _tuner = tuner;
        _fixedPlan = new TreePlan { Depth = tree.Depth, TopK = tree.TopK, TotalTokens = tree.TotalTokens, DraftVocabularySize = draftVocabularySize > 0 ? draftVocabularySize : target.Config.VocabSize };
        _state = target.CreateState();
        int t = tree.TotalTokens, v = target.Config.VocabSize, h = target.Config.HiddenSize;
        _draft = new DraftTree(t);
        _verifier = new TreeVerifier(v, acceptance);
        _logits = new float[v];
        _nodeLogits = new NodeLogits(target.Head, h, t);
        _features = new float[t * h];
        _probs = new float[v];
        _positions = new int[t];
        _path = new int[t];
        _pairTokens = new int[t];
    }

    /// <summary>
    /// EAGLE-2 with a loaded head: <paramref name="draftHead"/> is the target's full head (EAGLE-2) or an FR-Spec subset
    /// of it. The head and the draft LM head are shared and immutable; the decoder owns its caches and scratch.
    /// </summary>
    internal static SpeculativeDecoder Eagle(Transformer target, EagleHead head, LmHead draftHead, TreeOptions tree, string name,
        ISampledAcceptance? acceptance = null)
    {
        tree.Validate();
        var drafter = new EagleDrafter(head, target.Embedding, draftHead, tree, 512);
        return new SpeculativeDecoder(target, drafter, tree, name, acceptance, draftVocabularySize: draftHead.Size);
    }

    /// <summary>
    /// EAGLE-2 with the automatic tree: it chooses the tree shape and, among <paramref name="draftHeads"/> (the full head
    /// and/or FR-Spec subsets, with their <paramref name="vocabularies"/>: null = full), the draft LM head.
    /// </summary>
    internal static SpeculativeDecoder AutoEagle(Transformer target, EagleHead head, IReadOnlyList<LmHead> draftHeads,
        IReadOnlyList<DraftVocabulary?> vocabularies, AutoTreeOptions options, Func<ITunableDrafter, CostProfile> costs, string name,
        ISampledAcceptance? acceptance = null)
    {
        options.Validate();
        var drafter = new EagleDrafter(head, target.Embedding, draftHeads, options.Bounds, 512);
        var tuner = new TreeTuner(drafter, costs, options, [.. vocabularies.Select(v => v?.Ids)], target.Config.VocabSize);
        return new SpeculativeDecoder(target, drafter, options.Bounds, name, acceptance, tuner);
    }

    public GenerationResult Generate(ReadOnlySpan<int> prompt, GenerationOptions options, Action<int>? onToken = null, CancellationToken cancel = default)
    {
        if (prompt.Length == 0) throw new FrSpecException("the prompt is empty");
        int h = _target.Config.HiddenSize, v = _target.Config.VocabSize;
        int capacity = prompt.Length + options.MaxNewTokens + _tree.TotalTokens + 2;
        if (_cache == null || _cache.Capacity < capacity) _cache = _target.CreateCache(Math.Max(capacity, 512));
        var cache = _cache;
        cache.Clear();
        var sampler = new Sampler(options.Sampling);
        var stops = new StopSet(options.StopIds);
        var ids = new List<int>(options.MaxNewTokens);
        var accepts = new List<int>();
        bool stopped = false;

        // The automatic tree plans before prefill (its first use measures costs, running draft steps).
        int changes0 = _tuner?.Changes ?? 0;
        var plan = _tuner?.BeginGeneration(prompt) ?? _fixedPlan;
        bool speculate = plan.Speculative;

        // Prefill: target features for every prompt position (when drafting), first token from the last one.
        var sw = Stopwatch.StartNew();
        var promptFeatures = speculate ? new float[prompt.Length * h] : null;
        var last = VanillaDecoder.Prefill(_target, _state, cache, prompt, promptFeatures, cancel, options.PrefillProgress);
        _target.Head.Compute(last, 1, _logits);

        int root = sampler.Sample(_logits.AsSpan(0, v), _probs);
        bool Emit(int token)
        {
            ids.Add(token);
            onToken?.Invoke(token);
            if (stops.Contains(token)) { stopped = true; return false; }
            return ids.Count < options.MaxNewTokens;
        }
        bool more = options.MaxNewTokens > 0 && Emit(root);

        if (more && speculate)
        {
            // The drafter consumes pairs (f_t, x_{t+1}) for t = 0..L−1, the last one ending with the new root.
            _drafter.Begin(prompt, capacity);
            var next = new int[prompt.Length];
            prompt[1..].CopyTo(next);
            next[^1] = root;
            _drafter.Extend(promptFeatures!, next);
        }
        // The draft's prompt pass counts as prefill, as in EAGLE.
        double prefill = sw.Elapsed.TotalSeconds;
        var (layers0, head0) = _drafter.Time;
        sw.Restart();
        long verifyTicks = 0;
        bool canceled = false;

        // Plain decoding (no tree pays): the last emitted token is not in the cache yet; one pass gives the next one.
        bool PlainStep()
        {
            cancel.ThrowIfCancellationRequested();
            long t0 = Stopwatch.GetTimestamp();
            _one[0] = root; _onePosition[0] = cache.Count;
            var hidden = _target.Forward(_state, cache, _one, _onePosition);
            cache.CommitAll();
            _target.Head.Compute(hidden, 1, _logits);
            root = sampler.Sample(_logits.AsSpan(0, v), _probs);
            verifyTicks += Stopwatch.GetTimestamp() - t0;
            accepts.Add(1);
            return Emit(root);
        }
        while (more && !speculate) more = PlainStep();

        while (more)
        {
            if (cancel.IsCancellationRequested) { canceled = true; break; }
            _drafter.Draft(root, _draft);
            int t = _draft.Count, committed = cache.Count;

            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < t; i++) _positions[i] = committed + _draft.Depths[i];
            _mask.Reset(committed, t, committed);
            _mask.FillTree(_draft.Parents.AsSpan(0, t));
            var hidden = _target.Forward(_state, cache, _draft.Tokens.AsSpan(0, t), _positions.AsSpan(0, t), _mask);
            hidden.CopyTo(_features);
            _nodeLogits.Begin(_draft, _features);
            int length = _verifier.Accept(_draft, _nodeLogits, sampler, _path, out int bonus);
            verifyTicks += Stopwatch.GetTimestamp() - t0;
            cache.Commit(_path.AsSpan(0, length));

            // Emit the accepted drafts (the root was emitted last round) and the bonus.
            int emitted = 0;
            for (int j = 1; j < length && more; j++) { more = Emit(_draft.Tokens[_path[j]]); emitted++; }
            if (more) { more = Emit(bonus); emitted++; }
            accepts.Add(emitted);
            if (_tuner != null) plan = _tuner.AfterRound(_draft, _path.AsSpan(0, length), bonus);
            if (!more) break;
            root = bonus;
            if (!plan.Speculative)
            {
                // No tree pays any more: the bonus is the last emitted token, not yet in the cache, as plain decoding expects.
                while (more) more = PlainStep();
                break;
            }

            // Pairs (f(a_j), a_{j+1}) along the path, the last one ending with the bonus.
            for (int j = 0; j < length; j++)
            {
                _features.AsSpan(_path[j] * h, h).CopyTo(_features.AsSpan(j * h, h)); // path nodes ascend, so j·h ≤ path[j]·h
                _pairTokens[j] = j + 1 < length ? _draft.Tokens[_path[j + 1]] : bonus;
            }
            _drafter.Extend(_features.AsSpan(0, length * h), _pairTokens.AsSpan(0, length));
        }

        double decode = sw.Elapsed.TotalSeconds;
        var (layers, head) = _drafter.Time;
        layers -= layers0; head -= head0;
        double verify = verifyTicks / (double)Stopwatch.Frequency;
        var result = new GenerationResult
        {
            Ids = ids.ToArray(), AcceptLengths = accepts.ToArray(), PrefillSeconds = prefill, DecodeSeconds = decode,
            Time = new TimeSplit { DraftLayers = layers, DraftLmHead = head, Verify = verify, Other = Math.Max(0, decode - layers - head - verify) },
            StoppedByStopId = stopped,
            Tree = _tuner?.Report() ?? plan,
            TreeChanges = (_tuner?.Changes ?? 0) - changes0,
        };
        return canceled ? throw new GenerationCanceledException(result, cancel) : result;
    }
}
