using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Speculative;
using FrSpec.Speculative.AutoTree;

namespace FrSpec.Sessions;

/// <summary>
/// EAGLE-3 with EAGLE-2's dynamic tree over the head's draft vocabulary, cut to <see cref="Vocabulary"/> when set.
/// <see cref="Tree"/> null: the automatic tree (<see cref="Auto"/>); with <see cref="Candidates"/> it also chooses the
/// draft vocabulary among them.
/// </summary>
public sealed record Eagle3Method(string HeadDirectory, DraftVocabulary? Vocabulary, TreeOptions? Tree) : DecodingMethod
{
    /// <summary>Draft vocabularies the automatic tree chooses among (null entry = the head's own); null = just <see cref="Vocabulary"/>.</summary>
    public IReadOnlyList<DraftVocabulary?>? Candidates { get; init; }

    /// <summary>Settings of the automatic tree (used when <see cref="Tree"/> is null).</summary>
    public AutoTreeOptions Auto { get; init; } = AutoTreeOptions.Default;

    public override string Name => Named("eagle3", Vocabulary, Candidates);

    internal override IDecoder CreateDecoder(LanguageModel model, ISampledAcceptance? acceptance)
    {
        var head = model.Eagle3Head(HeadDirectory);
        Eagle3Network Network(DraftVocabulary? v) => Eagle3Network.For(head, model.Target, model.Eagle3DraftHead(HeadDirectory, v));
        if (Tree == null) return AutoDecoder(model, HeadDirectory, (Candidates ?? [Vocabulary]).Select(Network).ToArray(), Auto, Name, acceptance);
        CheckSingle(Candidates);
        Tree.Validate();
        return new SpeculativeDecoder(model.Target, new EagleDrafter(Network(Vocabulary), Tree, 512), Name, acceptance);
    }
}
