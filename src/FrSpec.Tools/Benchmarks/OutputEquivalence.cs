namespace FrSpec.Benchmarks;

/// <summary>Where a method's output first differs from vanilla's for one question.</summary>
/// <param name="QuestionId">The question.</param>
/// <param name="Turn">1-based turn. Later turns are not compared: their prompts already differ.</param>
/// <param name="Position">0-based index of the first differing generated token (the shorter length when one output is a prefix of the other).</param>
/// <param name="VanillaLength">Vanilla's number of generated ids in that turn.</param>
/// <param name="MethodLength">The method's number of generated ids in that turn.</param>
public sealed record OutputDifference(string QuestionId, int Turn, int Position, int VanillaLength, int MethodLength);

/// <summary>
/// Token-level comparison with vanilla decoding. Under greedy decoding a lossless speculative method must produce
/// exactly vanilla's ids; a difference points at a bug or at floating-point ties between near-equal logits.
/// </summary>
public static class OutputEquivalence
{
    /// <summary>The first difference of <paramref name="method"/> from <paramref name="vanilla"/>, or null when identical.</summary>
    public static OutputDifference? Compare(AnswerRecord vanilla, AnswerRecord method)
    {
        int turns = Math.Max(vanilla.Turns.Count, method.Turns.Count);
        for (int t = 0; t < turns; t++)
        {
            var a = t < vanilla.Turns.Count ? vanilla.Turns[t].TokenIds : Array.Empty<int>();
            var b = t < method.Turns.Count ? method.Turns[t].TokenIds : Array.Empty<int>();
            int pos = a.AsSpan().CommonPrefixLength(b);
            if (pos < a.Length || pos < b.Length)
                return new OutputDifference(vanilla.QuestionId, t + 1, pos, a.Length, b.Length);
        }
        return null;
    }
}
