// Keyboard shortcuts for the review UI: a key clicks (or focuses) the visible element with data-key="<key>".
// While typing in a field only Escape is taken (it leaves the field), so notes and reasons can contain any letter.
const NOT_TEXT = new Set(['checkbox', 'radio', 'button', 'submit', 'reset', 'image', 'file', 'color', 'range']);
document.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const target = e.target;
  // Only fields that take text count as typing: a checkbox keeps the focus after a click, and the shortcuts must
  // still work then.
  const notText = target instanceof HTMLInputElement && NOT_TEXT.has(target.type);
  const typing = target instanceof HTMLElement && !notText && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.isContentEditable);
  if (typing) {
    if (e.key === 'Escape') { target.blur(); e.preventDefault(); }
    return;
  }
  // Enter and Space on a focused button or link are that control's own action, not a shortcut for another one.
  const control = notText || (target instanceof HTMLElement && (target.tagName === 'BUTTON' || target.tagName === 'A' || target.tagName === 'SELECT'));
  if (control && (e.key === 'Enter' || e.key === ' ')) return;
  const element = document.querySelector(`[data-key="${CSS.escape(e.key)}"]`);
  if (!element || element.disabled) return;
  e.preventDefault();
  if (element.tagName === 'INPUT' || element.tagName === 'TEXTAREA') element.focus();
  else element.click();
});
