using FrSpec.Speculative;

namespace FrSpec.Tests.Speculative;

/// <summary>Prompt lookup's search: the longest n-gram first, its earliest occurrence with a continuation, cut at the sequence end.</summary>
public class PromptLookupTests
{
    private static (int, int) Find(int[] sequence, int max = 2, int min = 1, int draft = 10, int cap = 64) =>
        PromptLookupDrafter.Find(sequence, new PromptLookupOptions { MaxNgram = max, MinNgram = min, DraftTokens = draft }, cap);

    [Fact]
    public void LongestNgramWinsOverAnEarlierShorterMatch()
    {
        //                   0  1  2  3  4  5  6  7  8
        int[] s = [5, 9, 1, 7, 9, 2, 3, 7, 9];
        // bigram (7, 9) recurs at 3 → continuation from 5; the unigram 9 would match earlier at 1
        Assert.Equal((5, 4), Find(s));
        Assert.Equal((2, 7), Find(s, max: 1));
    }

    [Fact]
    public void EarliestOccurrenceAndCutsAtTheEnd()
    {
        int[] s = [4, 8, 1, 4, 8, 2, 4, 8];
        Assert.Equal((2, 3), Find(s, draft: 3));       // first (4, 8) at 0
        Assert.Equal((2, 2), Find(s, draft: 3, cap: 2)); // the tree's room
        Assert.Equal((2, 6), Find(s, draft: 10));      // continuation ends with the sequence
        // no recurrence: nothing to draft
        Assert.Equal((0, 0), Find([1, 2, 3, 4]));
        Assert.Equal((0, 0), Find([7]));
        // min n-gram 2: a repeated single token is not enough
        Assert.Equal((0, 0), Find([3, 1, 2, 3], min: 2));
    }

    [Fact]
    public void OptionsAreChecked()
    {
        Assert.Throws<FrSpecException>(() => new PromptLookupOptions { MinNgram = 0 }.Validate());
        Assert.Throws<FrSpecException>(() => new PromptLookupOptions { MinNgram = 3, MaxNgram = 2 }.Validate());
        Assert.Throws<FrSpecException>(() => new PromptLookupOptions { DraftTokens = 0 }.Validate());
    }
}
