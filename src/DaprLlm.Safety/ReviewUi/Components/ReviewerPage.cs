using DaprLlm.Safety.Review;
using DaprLlm.Safety.Review.Accounts;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;

namespace DaprLlm.Safety.ReviewUi.Components;

/// <summary>
/// Base of the interactive review pages: the signed-in reviewer, reloads when the queue changes anywhere, and
/// shows refusals as a message instead of an error page.
/// </summary>
public abstract class ReviewerPage : ComponentBase, IDisposable
{
    [CascadingParameter]
    private Task<AuthenticationState> AuthenticationState { get; set; } = default!;

    [Inject]
    protected ReviewQueueNotifier Notifier { get; set; } = default!;

    [Inject]
    protected TimeProvider Time { get; set; } = default!;

    protected Reviewer Me { get; private set; } = default!;

    protected string? Message { get; set; }

    protected bool MessageIsError { get; set; }

    protected override async Task OnInitializedAsync()
    {
        Me = Reviewer.FromPrincipal((await AuthenticationState).User);
        if (Live)
        {
            Notifier.Changed += OnChanged;
        }

        await LoadAsync();
    }

    protected abstract Task LoadAsync();

    /// <summary>Whether the page reloads when the queue changes (not pages with edits in progress).</summary>
    protected virtual bool Live => true;

    /// <summary>Runs a review action; a refusal becomes the page's message.</summary>
    protected async Task<bool> TryAsync(Func<Task> action)
    {
        try
        {
            await action();
            return true;
        }
        catch (ReviewRefusedException e)
        {
            Message = e.Message;
            MessageIsError = true;
            return false;
        }
    }

    private void OnChanged() => _ = InvokeAsync(async () =>
    {
        await LoadAsync();
        StateHasChanged();
    });

    public void Dispose()
    {
        Notifier.Changed -= OnChanged;
        GC.SuppressFinalize(this);
    }
}
