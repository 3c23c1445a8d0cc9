using FrSpec.Generation;

namespace FrSpec.Benchmarks;

/// <summary>Options for scoring answers while building a report.</summary>
public sealed record ScoringOptions
{
    /// <summary>Run HumanEval programs (model-written code) with python3. Off: pass@1 is not computed.</summary>
    public bool ExecuteHumanEval { get; init; } = true;
    public string Python { get; init; } = "python3";
    public TimeSpan HumanEvalTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>A count of correct answers out of a total.</summary>
public sealed record Score(int Correct, int Total)
{
    public double Rate => Total > 0 ? (double)Correct / Total : 0;
}

/// <summary>
/// Everything a report states, computed from the answer files of a run. Numbers cover only the questions that
/// every method answered, so each method is measured on the same questions.
/// </summary>
public sealed class BenchmarkResults
{
    public const string Overall = "overall";

    public required BenchmarkSettings Settings { get; init; }
    /// <summary>Methods that have answers, in report order.</summary>
    public required IReadOnlyList<MethodEntry> Methods { get; init; }
    /// <summary>Report groups (Spec-Bench groups MT-bench categories into "mt_bench"), then "overall".</summary>
    public required IReadOnlyList<string> Groups { get; init; }
    /// <summary>Number of questions every method answered (the ones measured).</summary>
    public required int CommonQuestions { get; init; }
    /// <summary>Questions answered by some methods but not all, left out of every number.</summary>
    public required int IncompleteQuestions { get; init; }
    /// <summary>Stats[method][group].</summary>
    public required IReadOnlyDictionary<string, IReadOnlyDictionary<string, SpeedStats>> Stats { get; init; }
    /// <summary>The vanilla and EAGLE-2 method names when present.</summary>
    public string? VanillaMethod { get; init; }
    public string? Eagle2Method { get; init; }
    /// <summary>Per method, the questions whose ids differ from vanilla's (greedy runs with token ids only).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<OutputDifference>>? Differences { get; init; }
    /// <summary>Why the equivalence check was not made, when it was not.</summary>
    public string? EquivalenceNote { get; init; }
    /// <summary>GSM8K-style accuracy per method (questions whose reference ends in "#### N").</summary>
    public IReadOnlyDictionary<string, Score>? Gsm8kAccuracy { get; init; }
    /// <summary>HumanEval pass@1 per method.</summary>
    public IReadOnlyDictionary<string, Score>? HumanEvalPass { get; init; }
    /// <summary>Per method, HumanEval task ids that failed with the reason (first line of the error).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<(string TaskId, string Detail)>>? HumanEvalFailures { get; init; }
    /// <summary>Why HumanEval was not scored (python3 missing, execution turned off), when it was not.</summary>
    public string? HumanEvalNote { get; init; }
    /// <summary>Per speculative method, the trees its turns ended with (the automatic tree's choices).</summary>
    public IReadOnlyDictionary<string, TreeUsage> Trees { get; init; } = new Dictionary<string, TreeUsage>();

    /// <summary>
    /// Each method with a fixed-tree grid (<c>bench spec --grid</c>): its automatic-tree method, the grid's methods and the
    /// fastest of them by overall tokens/s.
    /// </summary>
    public IReadOnlyList<TreeGrid> Grids
    {
        get
        {
            var grids = new List<TreeGrid>();
            foreach (var auto in Methods.Where(m => m.Spec.Kind != MethodKind.Vanilla && m.Spec.Tree == null))
            {
                var points = Methods.Where(m => m.Spec.Tree != null && m.Spec with { Tree = null } == auto.Spec).Select(m => m.Name).ToList();
                if (points.Count == 0) continue;
                string best = points.OrderByDescending(p => Stats[p][Overall].TokensPerSecond).First();
                grids.Add(new TreeGrid(auto.Name, points, best, Stats[auto.Name][Overall].TokensPerSecond / Stats[best][Overall].TokensPerSecond));
            }
            return grids;
        }
    }

    /// <summary>Speedup of a method over a baseline in a group: ratio of Σ tokens / Σ wall time, or null.</summary>
    public double? Speedup(string method, string? baseline, string group)
    {
        if (baseline is null) return null;
        var b = Stats[baseline][group].TokensPerSecond;
        var m = Stats[method][group].TokensPerSecond;
        return b > 0 ? m / b : null;
    }

    /// <summary>Spec-Bench speed.py's speedup: ratio of the means of per-question tokens/s.</summary>
    public double? SpecBenchSpeedup(string method, string? baseline, string group)
    {
        if (baseline is null) return null;
        var b = Stats[baseline][group].MeanOfQuestionSpeeds;
        return b > 0 ? Stats[method][group].MeanOfQuestionSpeeds / b : null;
    }

    /// <summary>
    /// Reads the answer files named in OUT/run.json and computes the report's numbers. <paramref name="questions"/>
    /// supplies references and HumanEval tests (scoring is skipped without it).
    /// </summary>
    public static BenchmarkResults Compute(string outDir, QuestionSet? questions, ScoringOptions? scoring = null)
    {
        scoring ??= new ScoringOptions();
        var settings = BenchmarkSettings.TryLoad(outDir)
            ?? throw new FrSpecException($"{Path.Combine(outDir, BenchmarkSettings.FileName)} not found: is {outDir} the --out folder of a run?");
        if (questions is not null && questions.Name != settings.DataSet)
            throw new FrSpecException($"the answers in {outDir} are for {settings.DataSet}, not {questions.Name}: pass the run's --data");
        var methods = settings.Methods.Where(m => File.Exists(BenchmarkSettings.AnswerPath(outDir, m.Name))).ToList();
        if (methods.Count == 0) throw new FrSpecException($"{outDir} holds no answer files");
        var answers = methods.ToDictionary(m => m.Name,
            m => AnswerFile.ReadAll(BenchmarkSettings.AnswerPath(outDir, m.Name)).GroupBy(a => a.QuestionId).ToDictionary(g => g.Key, g => g.Last()));

        var allIds = answers.Values.SelectMany(d => d.Keys).ToHashSet();
        var common = allIds.Where(id => answers.Values.All(d => d.ContainsKey(id))).ToHashSet();
        // Question order: the question file's when given, else the first method's file order.
        var order = questions is not null
            ? questions.Questions.Select(q => q.Id).Where(common.Contains).ToList()
            : answers[methods[0].Name].Keys.Where(common.Contains).ToList();
        // Answers of questions not in the current question file still count (a resumed run with a smaller --limit).
        order.AddRange(answers[methods[0].Name].Keys.Where(id => common.Contains(id) && !order.Contains(id)));

        string GroupOf(AnswerRecord a) => settings.Kind == QuestionSetKind.SpecBench ? SpecBenchCategories.GroupOf(a.Category) : a.Category;
        var first = answers[methods[0].Name];
        var groups = order.Select(id => GroupOf(first[id])).Distinct().ToList();
        if (settings.Kind == QuestionSetKind.SpecBench)
        {
            var canonical = new[] { "mt_bench" }.Concat(SpecBenchCategories.Tasks).ToList();
            groups = groups.OrderBy(g => canonical.IndexOf(g) is int i && i >= 0 ? i : int.MaxValue).ToList();
        }
        groups.Add(Overall);

        var stats = new Dictionary<string, IReadOnlyDictionary<string, SpeedStats>>();
        foreach (var m in methods)
        {
            var mine = answers[m.Name];
            var perGroup = new Dictionary<string, SpeedStats>();
            foreach (var g in groups)
                perGroup[g] = SpeedStats.Of(order.Select(id => mine[id]).Where(a => g == Overall || GroupOf(first[a.QuestionId]) == g));
            stats[m.Name] = perGroup;
        }

        string? vanilla = methods.FirstOrDefault(m => m.Spec.Kind == MethodKind.Vanilla)?.Name;
        // with a tree grid, EAGLE-2's reference is its automatic-tree run
        string? eagle2 = (methods.FirstOrDefault(m => m.Spec.Kind == MethodKind.Eagle2 && m.Spec.Tree == null)
            ?? methods.FirstOrDefault(m => m.Spec.Kind == MethodKind.Eagle2))?.Name;

        // Output equivalence with vanilla under greedy decoding.
        Dictionary<string, IReadOnlyList<OutputDifference>>? diffs = null;
        string? eqNote = null;
        if (!settings.Sampling.IsGreedy) eqNote = $"not checked: temperature {settings.Sampling.Temperature} samples, so outputs may differ by design";
        else if (vanilla is null) eqNote = "not checked: the run has no vanilla answers";
        else if (order.Any(id => methods.Any(m => !answers[m.Name][id].HasTokenIds))) eqNote = "not checked: some answer files carry no token_ids";
        else
        {
            diffs = new Dictionary<string, IReadOnlyList<OutputDifference>>();
            foreach (var m in methods.Where(m => m.Name != vanilla))
                diffs[m.Name] = order.Select(id => OutputEquivalence.Compare(answers[vanilla][id], answers[m.Name][id]))
                    .Where(d => d is not null).Select(d => d!).ToList();
        }

        // Quality.
        Dictionary<string, Score>? gsm = null, humanEval = null;
        Dictionary<string, IReadOnlyList<(string, string)>>? heFailures = null;
        string? heNote = null;
        if (questions is not null)
        {
            var byId = questions.Questions.ToDictionary(q => q.Id);
            var mathIds = order.Where(id => byId.TryGetValue(id, out var q) && q.References.Count > 0 && Gsm8kScorer.ExtractReference(q.References[0]) is not null).ToList();
            if (mathIds.Count > 0)
            {
                gsm = new Dictionary<string, Score>();
                foreach (var m in methods)
                    gsm[m.Name] = new Score(mathIds.Count(id => Gsm8kScorer.IsCorrect(answers[m.Name][id].Turns[^1].Text, byId[id].References[0])), mathIds.Count);
            }
            var codeIds = order.Where(id => byId.TryGetValue(id, out var q) && q.HumanEval is not null).ToList();
            if (codeIds.Count > 0)
            {
                if (!scoring.ExecuteHumanEval) heNote = "not scored: code execution was turned off (--no-exec)";
                else if (HumanEvalScorer.ProbePython(scoring.Python) is { Available: false } probe)
                    heNote = $"NOT SCORED: {probe.Detail}. Install python3 (e.g. apt-get install python3) and rerun `bench spec --report-only` to get pass@1.";
                else
                {
                    humanEval = new Dictionary<string, Score>();
                    heFailures = new Dictionary<string, IReadOnlyList<(string, string)>>();
                    var cache = new Dictionary<string, HumanEvalOutcome>(); // identical programs run once
                    foreach (var m in methods)
                    {
                        int passed = 0;
                        var failed = new List<(string, string)>();
                        foreach (var id in codeIds)
                        {
                            var program = HumanEvalScorer.BuildProgram(byId[id].HumanEval!, answers[m.Name][id].Turns[0].Text);
                            if (!cache.TryGetValue(program, out var outcome))
                                cache[program] = outcome = HumanEvalScorer.Run(program, scoring.HumanEvalTimeout, scoring.Python);
                            if (outcome.Passed) passed++; else failed.Add((id, outcome.Detail));
                        }
                        humanEval[m.Name] = new Score(passed, codeIds.Count);
                        heFailures[m.Name] = failed;
                    }
                }
            }
        }

        var trees = new Dictionary<string, TreeUsage>();
        foreach (var m in methods)
        {
            var plans = order.SelectMany(id => answers[m.Name][id].Turns).Select(t => t.Tree).OfType<TreePlan>().ToList();
            if (plans.Count > 0) trees[m.Name] = TreeUsage.Of(plans);
        }

        return new BenchmarkResults
        {
            Trees = trees,
            Settings = settings,
            Methods = methods,
            Groups = groups,
            CommonQuestions = common.Count,
            IncompleteQuestions = allIds.Count - common.Count,
            Stats = stats,
            VanillaMethod = vanilla,
            Eagle2Method = eagle2,
            Differences = diffs,
            EquivalenceNote = eqNote,
            Gsm8kAccuracy = gsm,
            HumanEvalPass = humanEval,
            HumanEvalFailures = heFailures,
            HumanEvalNote = heNote,
        };
    }
}

/// <summary>
/// The trees a speculative method's turns ended with; <see cref="Start"/>: for the automatic tree, whether its acceptance
/// statistics started from those learned before ("warm") or from the generic prior ("cold"); null for a fixed tree.
/// </summary>
public sealed record TreeUsage(int Turns, int PlainTurns, string MostUsed, int MostUsedTurns, double MeanPredictedAcceptLength, string? Start = null)
{
    public static TreeUsage Of(IReadOnlyList<TreePlan> plans)
    {
        static string Shape(TreePlan p) => p.Speculative
            ? $"depth {p.Depth}, top-k {p.TopK}, {p.TotalTokens} tokens, V' {p.DraftVocabularySize}" : "plain decoding";
        var top = plans.GroupBy(Shape).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).First();
        var predicted = plans.Where(p => p.Auto && p.Speculative).Select(p => p.PredictedAcceptLength).ToList();
        string? start = plans[0].Auto ? (plans[0].WarmStart ? "warm" : "cold") : null;
        return new TreeUsage(plans.Count, plans.Count(p => !p.Speculative), top.Key, top.Count(), predicted.Count > 0 ? predicted.Average() : 0, start);
    }
}

/// <summary>An automatic-tree method next to the fixed trees of a grid: the fastest grid point and auto's speed relative to it.</summary>
public sealed record TreeGrid(string AutoMethod, IReadOnlyList<string> GridMethods, string BestGridMethod, double AutoVsBest);
