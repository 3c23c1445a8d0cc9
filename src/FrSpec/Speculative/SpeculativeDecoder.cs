using System.Diagnostics;
using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Speculative.AutoTree;

namespace FrSpec.Speculative;

/// <summary>
/// Speculative decoding with any drafter (EAGLE-2/3, a draft model, Medusa, prompt lookup), optionally with an FR-Spec
/// draft vocabulary. Each round the drafter proposes a token tree rooted at the last target token; the target verifies
/// the whole tree in one forward pass with a tree attention mask; the accepted path plus one bonus token are emitted;
/// the target cache keeps only the accepted path and the drafter consumes the accepted (feature, next token) pairs,
/// its features taken from that same pass. Greedy output equals the target's greedy output; sampled output has exactly
/// the target's distribution (docs/exactness.md) unless a non-exact acceptor (Medusa's typical acceptance) is asked for.
/// With a <see cref="TreeTuner"/> (the automatic tree) the tree shape and draft vocabulary change between rounds, and
/// when no tree is expected to beat plain decoding the decoder decodes plainly; neither changes what is emitted.
/// </summary>
internal sealed class SpeculativeDecoder : IDecoder
{
    private readonly Transformer _target;
    private readonly ForwardState _state;
    private readonly IDrafter _drafter;
    private readonly int _maxTree, _featureWidth;
    private readonly bool _captured;
    private readonly DraftTree _draft;
    private readonly ITreeAcceptor _verifier;
    private readonly AttentionMask _mask = new(0, 0, 0);
    private readonly float[] _logits, _features, _probs, _drafterFeatures;
    private readonly NodeLogits _nodeLogits;
    private readonly int[] _positions, _path, _pairTokens;
    private readonly int[] _one = new int[1], _onePosition = new int[1];
    private readonly TreeTuner? _tuner;
    private readonly float[] _plainFeatures = []; // plain tokens' (feature, next token) pairs not yet given to the drafter
    private readonly int[] _plainTokens = [];
    private readonly TreePlan? _fixedPlan; // the tree the results report when there is no tuner (null: none given)
    private KvCache? _cache;

    public string Name { get; }

    /// <summary>A decoder over <paramref name="target"/> drafting with <paramref name="drafter"/>; <paramref name="acceptance"/> is the
    /// sampled-acceptance rule, null = <see cref="ExactAcceptance"/> (tests inject wrong ones); <paramref name="acceptor"/>
    /// replaces the whole tree walk (Medusa's typical acceptance), null = <see cref="TreeVerifier"/>. With
    /// <paramref name="tuner"/> (which steers this drafter) the drafter's tree is the largest the tuner may choose;
    /// <paramref name="fixedPlan"/> is what results report without one.</summary>
    internal SpeculativeDecoder(Transformer target, IDrafter drafter, string name, ISampledAcceptance? acceptance = null, ITreeAcceptor? acceptor = null,
        TreeTuner? tuner = null, TreePlan? fixedPlan = null)
    {
        _target = target; _drafter = drafter; Name = name; _tuner = tuner;
        _fixedPlan = fixedPlan;
        _state = target.CreateState();
        int t = drafter.MaxTreeTokens, v = target.Config.VocabSize, h = target.Config.HiddenSize;
        if (t < 1) throw new ArgumentException("a drafter's tree holds at least the root");
        var features = drafter.Features;
        _featureWidth = features.Width;
        _captured = features.CapturedLayers != null;
        if (_captured) _state.Capture = new LayerCapture(features.CapturedLayers!, target.Config.NumLayers, h);
        else if (_featureWidth != 0 && _featureWidth != h)
            throw new ArgumentException($"the drafter reads {_featureWidth}-wide final hidden states, the target's are {h} wide");
        _maxTree = t;
        _draft = new DraftTree(t);
        _verifier = acceptor ?? new TreeVerifier(v, acceptance);
        _logits = new float[v];
        _nodeLogits = new NodeLogits(target.Head, h, t);
        _features = new float[t * h];
        _drafterFeatures = _captured ? new float[t * _featureWidth] : _features;
        _probs = new float[v];
        _positions = new int[t];
        _path = new int[t];
        _pairTokens = new int[t];
        if (tuner != null)
        {
            // plain stretches hand the drafter their pairs in batches of this many tokens, where the tuner may resume drafting
            int batch = tuner.ProbeAfter;
            _plainFeatures = new float[batch * _featureWidth];
            _plainTokens = new int[batch];
        }
    }

    /// <summary>
    /// EAGLE-2 with a loaded head: <paramref name="draftHead"/> is the target's full head (EAGLE-2) or an FR-Spec subset
    /// of it. The head and the draft LM head are shared and immutable; the decoder owns its caches and scratch.
    /// </summary>
    internal static SpeculativeDecoder Eagle(Transformer target, EagleHead head, LmHead draftHead, TreeOptions tree, string name,
        ISampledAcceptance? acceptance = null)
    {
        tree.Validate();
        var drafter = new EagleDrafter(Eagle2Network.For(head, target.Embedding, draftHead), tree, 512);
        return new SpeculativeDecoder(target, drafter, name, acceptance,
            fixedPlan: new TreePlan { Depth = tree.Depth, TopK = tree.TopK, TotalTokens = tree.TotalTokens, DraftVocabularySize = draftHead.Size });
    }

    /// <summary>
    /// Any dynamic-tree drafter (EAGLE-2/3 head, draft model) with the automatic tree: it chooses the tree shape within
    /// <paramref name="options"/>' bounds (top-k 1 bounds: chains of a chosen length) and, among <paramref name="variants"/>
    /// (one network with different draft LM heads: its own and FR-Spec cuts), the draft LM head.
    /// </summary>
    internal static SpeculativeDecoder Auto(Transformer target, IReadOnlyList<IDraftNetwork> variants, AutoTreeOptions options,
        Func<ITunableDrafter, CostProfile> costs, string name, ISampledAcceptance? acceptance = null, DraftLimits? limits = null,
        Func<IReadOnlyList<string>, int, int, AcceptanceMemory>? memory = null)
    {
        options.Validate();
        var drafter = new EagleDrafter(variants, options.Bounds, 512, limits);
        int vocab = target.Config.VocabSize;
        // each variant's draft vocabulary, for coverage: null = every target id
        var members = variants.Select(n => n.DraftHead is { TokenIds: { } ids } ? ids
            : n.DraftHead.Size >= vocab ? null : (IReadOnlyList<int>)Enumerable.Range(0, n.DraftHead.Size).ToArray()).ToArray();
        // the warm start's memory is the model's, per drafter and draft vocabularies: each variant named by its ids
        var (depths, ranks) = TreeTuner.StatisticsShape(options.Bounds);
        var shared = options.WarmStart && memory != null ? memory(members.Select(VariantName).ToArray(), depths, ranks) : null;
        var tuner = new TreeTuner(drafter, costs, options, members, vocab, shared);
        return new SpeculativeDecoder(target, drafter, name, acceptance, tuner: tuner);
    }

    private static string VariantName(IReadOnlyList<int>? ids) => ids == null ? "full"
        : Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(ids.ToArray().AsSpan())))[..16];

    public GenerationResult Generate(ReadOnlySpan<int> prompt, GenerationOptions options, Action<int>? onToken = null, CancellationToken cancel = default)
    {
        if (prompt.Length == 0) throw new FrSpecException("the prompt is empty");
        int h = _target.Config.HiddenSize, v = _target.Config.VocabSize, fw = _featureWidth;
        int capacity = prompt.Length + options.MaxNewTokens + _maxTree + 2;
        if (_cache == null || _cache.Capacity < capacity) _cache = _target.CreateCache(Math.Max(capacity, 512));
        var cache = _cache;
        cache.Clear();
        var sampler = new Sampler(options.Sampling);
        var stops = new StopSet(options.StopIds);
        var ids = new List<int>(options.MaxNewTokens);
        var accepts = new List<int>(options.MaxNewTokens); // a round emits at least one token: never grows in the loop
        bool stopped = false;

        // The automatic tree plans before prefill (its first use measures costs, running draft steps).
        int changes0 = _tuner?.Changes ?? 0;
        bool speculate = _tuner?.BeginGeneration(prompt) ?? true; // without a tuner every round drafts
        // whether the drafter follows the text: while drafting, and through plain stretches after which it may resume
        bool drafting = speculate || _tuner!.MayResume;

        // Prefill: target features for every prompt position (when drafting), first token from the last one.
        var sw = Stopwatch.StartNew();
        var promptFeatures = new float[drafting ? prompt.Length * fw : 0];
        var last = VanillaDecoder.Prefill(_target, _state, cache, prompt, !drafting || _captured || fw == 0 ? null : promptFeatures, cancel,
            options.PrefillProgress, drafting && _captured ? promptFeatures : null);
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

        if (more && drafting)
        {
            // The drafter consumes pairs (f_t, x_{t+1}) for t = 0..L−1, the last one ending with the new root.
            _drafter.Begin(prompt, capacity);
            var next = new int[prompt.Length];
            prompt[1..].CopyTo(next);
            next[^1] = root;
            _drafter.Extend(promptFeatures, next);
        }
        // The draft's prompt pass counts as prefill, as in EAGLE.
        double prefill = sw.Elapsed.TotalSeconds;
        var (layers0, head0) = _drafter.Time;
        sw.Restart();
        long verifyTicks = 0;
        int plainSteps = 0, pending = 0; // plain tokens not yet passed to the tuner; pairs of them not yet given to the drafter
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
            plainSteps++;
            if (drafting)
            {
                // the pair (feature of the token just passed, the token sampled from it), as a round's path would give it
                (_captured ? _state.Capture!.Rows(1) : hidden[..fw]).CopyTo(_plainFeatures.AsSpan(pending * fw, fw));
                _plainTokens[pending++] = root;
            }
            return Emit(root);
        }

        while (more)
        {
            if (cancel.IsCancellationRequested) { canceled = true; break; }
            if (!speculate)
            {
                more = PlainStep();
                if (!drafting || pending < _plainTokens.Length || !more) continue;
                // a batch of plain tokens: the drafter catches up, and the tuner may look again
                _drafter.Extend(_plainFeatures.AsSpan(0, pending * fw), _plainTokens.AsSpan(0, pending));
                pending = 0;
                speculate = _tuner!.AfterPlain(plainSteps);
                plainSteps = 0;
                continue;
            }
            _drafter.Draft(root, _draft);
            int t = _draft.Count, committed = cache.Count;

            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < t; i++) _positions[i] = committed + _draft.Depths[i];
            _mask.Reset(committed, t, committed);
            _mask.FillTree(_draft.Parents.AsSpan(0, t));
            var hidden = _target.Forward(_state, cache, _draft.Tokens.AsSpan(0, t), _positions.AsSpan(0, t), _mask);
            hidden.CopyTo(_features);
            if (_captured) _state.Capture!.Rows(t).CopyTo(_drafterFeatures);
            _nodeLogits.Begin(_draft, _features);
            int length = _verifier.Accept(_draft, _nodeLogits, sampler, _path, out int bonus);
            verifyTicks += Stopwatch.GetTimestamp() - t0;
            cache.Commit(_path.AsSpan(0, length));

            // Emit the accepted drafts (the root was emitted last round) and the bonus.
            int emitted = 0;
            for (int j = 1; j < length && more; j++) { more = Emit(_draft.Tokens[_path[j]]); emitted++; }
            if (more) { more = Emit(bonus); emitted++; }
            accepts.Add(emitted);
            if (_tuner != null) speculate = _tuner.AfterRound(_draft, _path.AsSpan(0, length), bonus);
            if (!more) break;
            // (when no tree pays any more, the loop decodes plainly from the bonus: the last emitted token, not yet in the
            // cache, as plain decoding expects; the drafter still takes this round's pairs, to resume later)

            // Pairs (f(a_j), a_{j+1}) along the path, the last one ending with the bonus.
            for (int j = 0; j < length; j++)
            {
                // path nodes ascend, so j·fw ≤ path[j]·fw
                _drafterFeatures.AsSpan(_path[j] * fw, fw).CopyTo(_drafterFeatures.AsSpan(j * fw, fw));
                _pairTokens[j] = j + 1 < length ? _draft.Tokens[_path[j + 1]] : bonus;
            }
            _drafter.Extend(_drafterFeatures.AsSpan(0, length * fw), _pairTokens.AsSpan(0, length));
            root = bonus;
        }

        double decode = sw.Elapsed.TotalSeconds;
        var (layers, head) = _drafter.Time;
        layers -= layers0; head -= head0;
        double verify = verifyTicks / (double)Stopwatch.Frequency;
        _tuner?.EndGeneration(plainSteps); // after the clock stops: sharing what was learned is not decoding
        var result = new GenerationResult
        {
            Ids = ids.ToArray(), AcceptLengths = accepts.ToArray(), PrefillSeconds = prefill, DecodeSeconds = decode,
            Time = new TimeSplit { DraftLayers = layers, DraftLmHead = head, Verify = verify, Other = Math.Max(0, decode - layers - head - verify) },
            StoppedByStopId = stopped,
            Tree = _tuner?.Report() ?? _fixedPlan,
            TreeChanges = (_tuner?.Changes ?? 0) - changes0,
        };
        return canceled ? throw new GenerationCanceledException(result, cancel) : result;
    }
}
