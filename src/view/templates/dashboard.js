// The range picker: choosing a preset shows it at once (the Show button does the same without
// JavaScript); a custom range is applied with Show. Nothing else runs on the page.
document.addEventListener("DOMContentLoaded", () => {
  const range = document.getElementById("range");
  if (!range) return;
  range.addEventListener("change", () => {
    if (range.value !== "custom") {
      for (const name of ["from", "to"]) {
        const input = range.form.elements.namedItem(name);
        if (input) input.disabled = true;
      }
      range.form.submit();
    }
  });
});
