namespace FrSpec.Speculative;

/// <summary>
/// How sampled verification treats draft children. Only <see cref="Exact"/> is correct; the others are deliberate
/// mistakes that tests use to show the distribution test can fail.
/// </summary>
internal enum AcceptanceRule
{
    /// <summary>EAGLE-2's rule with q = 1: accept child x with probability p(x); on rejection zero p(x), renormalise, try the next sibling; bonus from what is left.</summary>
    Exact,
    /// <summary>WRONG: rejected children keep their mass, so the bonus is drawn from the unchanged p (drafted tokens are over-sampled).</summary>
    ForgetResidual,
    /// <summary>WRONG: the first child is always accepted.</summary>
    AcceptFirstChild,
}
