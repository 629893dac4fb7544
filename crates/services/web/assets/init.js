import { initAll } from "./nhsuk.min.js";
initAll();
